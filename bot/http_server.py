"""HTTP mode: every Slack request on POST /slack/events; probes and Prometheus metrics."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.metrics import exposition

SLACK_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"

RedisCheck = Callable[[], Awaitable[bool | None]]


def create_http_app(
    bolt_app: AsyncApp,
    *,
    redis_ok: RedisCheck | None = None,
    background: Callable[[], Coroutine[Any, Any, None]] | None = None,
    on_shutdown: Callable[[], Awaitable[None]] | None = None,
) -> Starlette:
    handler = AsyncSlackRequestHandler(bolt_app)

    async def slack_events(request: Request) -> Response:
        return await handler.handle(request)

    async def healthz(request: Request) -> Response:
        """The process is alive."""
        return JSONResponse({"ok": True})

    async def readyz(request: Request) -> Response:
        """The configuration loaded (this app exists) and Redis answers when configured."""
        redis = await redis_ok() if redis_ok is not None else None
        ready = redis is not False
        body = {"ok": ready, "redis": {None: "not configured", True: "ok", False: "not answering"}[redis]}
        return JSONResponse(body, status_code=200 if ready else 503)

    async def metrics(request: Request) -> Response:
        return Response(exposition(), media_type="text/plain; version=0.0.4; charset=utf-8")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(background()) if background is not None else None
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if on_shutdown is not None:
            await on_shutdown()

    return Starlette(
        routes=[
            Route(SLACK_PATH, slack_events, methods=["POST"]),
            Route(HEALTH_PATH, healthz, methods=["GET"]),
            Route(READY_PATH, readyz, methods=["GET"]),
            Route(METRICS_PATH, metrics, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
