"""HTTP mode: every Slack request on POST /slack/events, the unified API's webhooks on
POST /truto/webhooks; probes and Prometheus metrics.

Slack requests pass the edge first (bot/slack/edge.py): size and time limits, the signature
over the raw bytes, the replay guard. Only then does Bolt parse the body.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from contextlib import asynccontextmanager
from typing import Any

from slack_bolt import BoltResponse
from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request, to_starlette_response
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.ops.config import Settings
from bot.ops.metrics import EDGE_REFUSALS, exposition
from bot.slack.bodies import BodyReader
from bot.slack.edge import Refusal, SlackEdge
from bot.slack.http_protocol import with_head_deadline

log = logging.getLogger(__name__)

SLACK_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"
VERIFIED = "edge_verified"  # set in the Bolt context of every request that passed the edge

WEBHOOKS_PATH = "/truto/webhooks"

RedisCheck = Callable[[], Awaitable[bool | None]]
Endpoint = Callable[[Request], Awaitable[Response]]
# A verified request answered without Bolt (handlers/fast_ack.py), or None: Bolt's to answer.
FastPath = Callable[[bytes, Mapping[str, str]], Awaitable[BoltResponse | None]]


def serve_options(settings: Settings, bodies: BodyReader | None = None) -> dict[str, Any]:
    """uvicorn's options for `serve`: the protocol with its head deadline and per-client cap,
    the connection limit and keep-alive, and the proxies whose X-Forwarded-For names the client."""
    return {
        "http": with_head_deadline(
            settings.http_read_timeout_seconds,
            settings.http_max_connections_per_client,
            settings.forwarded_allow_ips,
            bodies,
        ),
        "limit_concurrency": settings.http_max_connections,
        "timeout_keep_alive": settings.http_keep_alive_seconds,
        "proxy_headers": True,
        "forwarded_allow_ips": settings.forwarded_allow_ips,
    }


def _refused(refusal: Refusal) -> Response:
    EDGE_REFUSALS.labels(refusal.reason if refusal.status != 413 else "too large").inc()
    # Nothing of the request's content is logged: it is not verified (or a replay).
    log.info("request to %s refused: %s", SLACK_PATH, refusal.reason)
    if refusal.status == 200:
        return Response(status_code=200)
    headers = {"Connection": "close"} if refusal.status in (400, 408, 413, 503) else None
    return PlainTextResponse(refusal.reason, status_code=refusal.status, headers=headers)


def create_http_app(
    bolt_app: AsyncApp,
    edge: SlackEdge,
    *,
    redis_ok: RedisCheck | None = None,
    background: Callable[[], Coroutine[Any, Any, None]] | None = None,
    drain: Callable[[], Awaitable[None]] | None = None,
    on_shutdown: Callable[[], Awaitable[None]] | None = None,
    truto_webhooks: Endpoint | None = None,
    metrics_token: str | None = None,
    fast_path: FastPath | None = None,
    routes: list[Route] | None = None,
) -> Starlette:
    """`truto_webhooks`: the receiver of the unified API's webhooks (it verifies their own
    signature: Slack's edge does not apply to them). `fast_path`: tried on each verified request
    before the replay guard (it keeps the guard's marker in its own write) and Bolt. `routes`:
    more of them (distributed mode's OAuth pages)."""
    state = {"draining": False}

    async def slack_events(request: Request) -> Response:
        verified = await edge.verified(request)
        if isinstance(verified, Refusal):
            return _refused(verified)
        if fast_path is not None and (answered := await fast_path(verified, request.headers)) is not None:
            return to_starlette_response(answered)
        admitted = await edge.for_bolt(request.headers, verified)
        if isinstance(admitted, Refusal):
            return _refused(admitted)
        try:
            bolt_request = to_async_bolt_request(request, admitted, {VERIFIED: True})
        except Exception:  # signed, yet not UTF-8 or not a form/JSON body Bolt can read
            return _refused(Refusal(400, "unreadable body"))
        return to_starlette_response(await bolt_app.async_dispatch(bolt_request))

    async def healthz(request: Request) -> Response:
        """The process is alive."""
        return JSONResponse({"ok": True})

    async def readyz(request: Request) -> Response:
        """The configuration loaded (this app exists) and Redis answers when configured."""
        if state["draining"]:
            return JSONResponse({"ok": False, "draining": True}, status_code=503)
        redis = await redis_ok() if redis_ok is not None else None
        ready = redis is not False
        body = {"ok": ready, "redis": {None: "not configured", True: "ok", False: "not answering"}[redis]}
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics(request: Request) -> Response:
        """Prometheus text; behind `Authorization: Bearer <METRICS_TOKEN>` when one is set."""
        if metrics_token:
            given = request.headers.get("authorization", "").encode("latin-1")
            if not hmac.compare_digest(given, f"Bearer {metrics_token}".encode()):
                return PlainTextResponse("unauthorized", status_code=401)
        return Response(exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(background()) if background is not None else None
        yield
        state["draining"] = True  # not ready any more: no new work comes here
        if drain is not None:
            await drain()
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if on_shutdown is not None:
            await on_shutdown()

    webhook_routes = [Route(WEBHOOKS_PATH, truto_webhooks, methods=["POST"])] if truto_webhooks else []
    return Starlette(
        routes=[
            Route(SLACK_PATH, slack_events, methods=["POST"]),
            *webhook_routes,
            *(routes or []),
            Route(HEALTH_PATH, healthz, methods=["GET"]),
            Route(READY_PATH, readyz, methods=["GET"]),
            Route(METRICS_PATH, metrics, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
