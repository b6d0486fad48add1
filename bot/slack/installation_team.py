"""Single-workspace mode: which workspace (or Grid org) the bot token belongs to, as Slack says
in auth.test; asked once per process, again after a failure."""

from __future__ import annotations

import asyncio
import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.tenants import tenant_of

log = logging.getLogger(__name__)


class InstallationTeam:
    def __init__(self, client: AsyncWebClient) -> None:
        self.client = client
        self._known: str | None = None
        self._lock = asyncio.Lock()

    async def tenant(self) -> str | None:
        """The installation's tenant id (its team, or its org for an org-wide install); None
        while Slack does not answer."""
        if self._known is not None:
            return self._known
        async with self._lock:
            if self._known is None:
                try:
                    answer = await self.client.auth_test()
                except (SlackApiError, OSError, TimeoutError) as exc:
                    log.warning("auth.test failed (%s): the installation's team is not known yet", exc)
                    return None
                try:
                    self._known = tenant_of(
                        answer.get("team_id"),
                        answer.get("enterprise_id"),
                        bool(answer.get("is_enterprise_install")),
                    )
                except ValueError:
                    return None
        return self._known
