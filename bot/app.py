"""Composition root of the Slack app: builds the Bolt AsyncApp and registers every surface.

`process_before_response=True`: each surface's ack function runs inline and answers Slack
at once (no 10 ms polling for ack()); the work runs after, as `lazy` listeners.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import AppConfig, ConfigError
from bot.jobs import JobQueue, Worker
from bot.logs import bind
from bot.metrics import ACK_SECONDS
from bot.runtime import Core, build_core
from bot.signing import Signer
from bot.slack_directory import SlackUserDirectory
from handlers import actions, commands, events, options, preview, shortcuts, undo, views
from handlers.deps import SlackDeps
from handlers.jobs import dropped_job_handler, job_handler
from handlers.surface import new_error_id, tell, user_message

log = logging.getLogger(__name__)


def surface_of(body: dict[str, Any]) -> str:
    if "command" in body:
        return "command"
    kind = str(body.get("type") or "unknown")
    return {"event_callback": "event", "block_suggestion": "options", "message_action": "shortcut"}.get(
        kind, kind
    )


SURFACES = (commands, views, actions, preview, undo, shortcuts, events, options)


def slack_client(config: AppConfig) -> AsyncWebClient:
    """The Web API client: SLACK_API_URL as base, retrying 429 (Retry-After), 5xx and resets."""
    token = config.settings.slack_bot_token
    if token is None:
        raise ConfigError("SLACK_BOT_TOKEN: not set (the bot token, xoxb-…)")
    return AsyncWebClient(
        token=token.get_secret_value(),
        base_url=config.settings.slack_api_url,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


@dataclass
class SlackBot:
    """The Bolt app and the job worker of one bot process."""

    app: AsyncApp
    worker: Worker
    deps: SlackDeps

    async def run_worker(self) -> None:
        if not self.deps.jobs.durable:
            log.warning(
                "REDIS_URL is not set: acknowledged updates wait in this process only; a crash loses them"
            )
        await self.worker.run()

    async def run_beside(self, processes: int) -> None:
        """Worker processes take the jobs from Redis; this process runs only the jobs it had to
        keep itself while Redis was away."""
        from bot.worker_process import WorkerProcesses

        local = dataclasses.replace(self.worker, memory_only=True)
        await asyncio.gather(WorkerProcesses(processes).run(), local.run())


def create_app(
    config: AppConfig, core: Core | None = None, *, web_client: AsyncWebClient | None = None
) -> AsyncApp:
    """The Bolt app, with its dependencies injected (tests pass their own core and client)."""
    return build_bot(config, core, web_client=web_client).app


def build_bot(
    config: AppConfig, core: Core | None = None, *, web_client: AsyncWebClient | None = None
) -> SlackBot:
    secret = config.settings.slack_signing_secret
    if secret is None:
        raise ConfigError("SLACK_SIGNING_SECRET: not set (Basic Information → Signing Secret)")
    client = web_client or slack_client(config)
    if core is None:
        core = build_core(config)
    core.service.directory = SlackUserDirectory(client, core.cache)
    jobs = JobQueue(core.redis)
    deps = SlackDeps(config=config, core=core, signer=Signer(secret.get_secret_value()), jobs=jobs)
    settings = config.settings
    worker = Worker(
        jobs,
        job_handler(deps, client),
        concurrency=settings.worker_concurrency,
        reclaim_idle=settings.job_reclaim_seconds,
        dropped=dropped_job_handler(deps, client),
    )
    app = AsyncApp(signing_secret=secret.get_secret_value(), client=client, process_before_response=True)

    @app.middleware
    async def inject_deps(body: dict[str, Any], context: Any, next: Any) -> None:
        """Dependencies in, request fields onto every log line, and the ack timed by surface."""
        context["deps"] = deps
        started = time.perf_counter()
        bind(
            request_id=uuid.uuid4().hex[:12],
            team=context.get("team_id"),
            user=context.get("user_id"),
            channel=context.get("channel_id"),
        )
        await next()
        ACK_SECONDS.labels(surface_of(body)).observe(time.perf_counter() - started)

    @app.error
    async def on_error(error: Exception, body: dict[str, Any], client: Any, respond: Any) -> None:
        message = user_message(error)
        error_id = None
        if message is None:
            error_id = new_error_id()
            log.error("unexpected error %s", error_id, exc_info=error)
            message = "Something went wrong on our side; nothing more was changed."
        try:
            await tell(
                body, client, respond if body.get("response_url") else None, message, error_id=error_id
            )
        except Exception:
            log.exception("could not report error %s to the user", error_id)

    for surface in SURFACES:
        surface.register(app)
    return SlackBot(app, worker, deps)
