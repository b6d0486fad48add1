"""What runs around every listener: a payload not shaped as Slack sends it refused whole, the
workspace's deps injected (distributed mode: authorized from its installation), the per-user
quota, the ack timed by surface, and the one error handler (nothing for an unverified request)."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt import BoltResponse
from slack_bolt.async_app import AsyncApp, AsyncBoltContext, AsyncBoltRequest, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.tenants import tenant_of
from bot.ops.logs import bind_request
from bot.ops.metrics import ACK_SECONDS, EDGE_REFUSALS, QUOTA_REFUSALS
from bot.slack.http_server import VERIFIED
from bot.slack.payload_shape import malformed
from bot.store.quota import UserQuota
from handlers.ingress.answers import too_many_requests
from handlers.kit.deps import SlackDeps
from handlers.kit.surface import report_error
from handlers.kit.tenancy import Tenancy

log = logging.getLogger(__name__)
Next = Callable[[], Awaitable[BoltResponse | None]]  # the rest of the middleware chain

# Requests that start work count towards the per-user quota; live selects and events do not.
QUOTA_SURFACES = frozenset({"command", "block_actions", "view_submission", "shortcut"})


def surface_of(body: dict[str, Any]) -> str:
    if "command" in body:
        return "command"
    kind = str(body.get("type") or "unknown")
    return {"event_callback": "event", "block_suggestion": "options", "message_action": "shortcut"}.get(
        kind, kind
    )


def register(app: AsyncApp, deps: SlackDeps, quota: UserQuota, tenancy: Tenancy | None) -> None:
    """`tenancy`: distributed mode's, which gives each request its workspace's deps."""
    settings = deps.config.settings

    @app.middleware
    async def shaped_as_slack_sends(body: dict[str, Any], next: Next) -> BoltResponse | None:
        """A signed payload not shaped as Slack documents it is refused whole, before any
        listener reads it (bot/slack/payload_shape.py)."""
        why = malformed(body)
        if why is not None:
            EDGE_REFUSALS.labels("malformed payload").inc()
            log.warning("signed payload refused: %s", why)
            return BoltResponse(status=400, body=f"malformed payload: {why}")
        await next()
        return None

    @app.middleware
    async def inject_deps(
        body: dict[str, Any], context: AsyncBoltContext, request: AsyncBoltRequest, next: Next
    ) -> BoltResponse | None:
        """Dependencies in, request fields onto every log line, and the ack timed by surface.
        Bolt's own signature check ran before this (HTTP); Socket Mode's connection is the
        app token's own."""
        context[VERIFIED] = True
        context["deps"] = deps
        if tenancy is not None:
            # Authorized from the workspace's installation: its accounts, its token's client.
            tenant = tenant_of(context.team_id, context.enterprise_id, bool(context.is_enterprise_install))
            team_deps = await tenancy.deps_for(tenant)
            if team_deps is None:
                return BoltResponse(status=200, body="")
            context["deps"] = team_deps
        started = time.perf_counter()
        bind_request(
            team=context.get("team_id"), user=context.get("user_id"), channel=context.get("channel_id")
        )
        surface = surface_of(body)
        if surface in QUOTA_SURFACES and not await quota.allow(
            context.get("team_id"), context.get("user_id")
        ):
            QUOTA_REFUSALS.inc()
            log.info("per-user quota reached; request answered, nothing queued")
            return await too_many_requests(body, settings.user_quota_per_minute, deps.background)
        await next()
        ACK_SECONDS.labels(surface).observe(time.perf_counter() - started)
        return None

    @app.error
    async def on_error(
        error: Exception,
        body: dict[str, Any],
        client: AsyncWebClient,
        respond: AsyncRespond,
        context: AsyncBoltContext,
    ) -> None:
        if not context.get(VERIFIED):
            # Nothing is done for a request that was not verified: no Slack call, no reply.
            log.info("error before verification (%s); request dropped", type(error).__name__)
            return
        await report_error(error, body, client, respond)
