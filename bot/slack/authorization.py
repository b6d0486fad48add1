"""Who the bot is in its one workspace (single-workspace mode): auth.test once per process,
asked at start-up, never a reason to drop a request.

Bolt's own single-workspace authorization calls auth.test on the first request each process
serves and, if that call fails, answers the request 200 with "Please install this app into the
workspace" and does nothing else: an acknowledged `/ticket update` dropped (the soak counted such
a request as lost). Here the answer is asked once at start-up (and again until it comes), shared
by concurrent first requests, and a request that arrives while Slack does not answer goes on
with what the token alone says (its team from the request): its job is written before the ack
as always, and the worker talks to Slack later with the same token.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

log = logging.getLogger(__name__)
AUTH_TEST_WAIT = 1.0  # seconds a request may wait for the first auth.test (inside Slack's 3 s)


class SingleWorkspaceAuthorize(AsyncAuthorize):
    def __init__(self, client: AsyncWebClient) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.client = client
        self._known: AuthorizeResult | None = None
        self._asking: asyncio.Task[AuthorizeResult | None] | None = None

    async def _ask(self) -> AuthorizeResult | None:
        try:
            answer = await self.client.auth_test()
        except (SlackApiError, OSError, TimeoutError) as exc:
            log.warning(
                "auth.test did not answer (%s); requests go on with the token alone", type(exc).__name__
            )
            return None
        self._known = AuthorizeResult.from_auth_test_response(
            auth_test_response=answer, bot_token=self.client.token
        )
        return self._known

    def warm_up(self) -> asyncio.Task[AuthorizeResult | None]:
        """Ask now (at start-up), so the first request does not wait for it."""
        if self._asking is None or (self._asking.done() and self._known is None):
            self._asking = asyncio.get_running_loop().create_task(self._ask())
        return self._asking

    async def __call__(
        self, *, context: Any, enterprise_id: str | None, team_id: str | None, **_: Any
    ) -> AuthorizeResult:
        if self._known is not None:
            return self._known
        asking = self.warm_up()
        try:
            known = await asyncio.wait_for(asyncio.shield(asking), AUTH_TEST_WAIT)
        except TimeoutError:
            known = None
        if known is not None:
            return known
        return AuthorizeResult(enterprise_id=enterprise_id, team_id=team_id, bot_token=self.client.token)
