"""Composition root of the Slack app: builds the Bolt AsyncApp and registers every surface.

`process_before_response=True`: each surface's ack function runs inline and answers Slack
at once (no 10 ms polling for ack()); the work runs after, as `lazy` listeners.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped, warning_token_skipped
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette

from bot.domain.actors import SlackDirectory
from bot.ops.config import AppConfig, ConfigError, missing_to_serve
from bot.ops.worker_process import WorkerProcesses
from bot.runtime import Core, build_core
from bot.slack.authorization import SingleWorkspaceAuthorize
from bot.slack.bodies import BodyReader, UnverifiedBudget
from bot.slack.edge import ReplayGuard, SignatureCheck, SlackEdge
from bot.slack.http_server import create_http_app
from bot.slack.signing import Signer
from bot.store.queue import JobQueue, Worker
from bot.store.quota import UserQuota
from handlers import middleware
from handlers.distributed import Distributed, build_distributed
from handlers.ingress.fast_ack import FastAck
from handlers.ingress.truto_webhooks import TrutoWebhooks
from handlers.jobs import digests, reminders, thread_sync
from handlers.jobs.runner import dropped_job_handler, job_handler
from handlers.kit.deps import SlackDeps
from handlers.kit.job_queue import account_share
from handlers.listeners import register_all
from handlers.single import Single, build_single

log = logging.getLogger(__name__)


NOT_INSTALLED = "ticketbot is not installed in this workspace (any more); a workspace admin can add it again."


def slack_client(config: AppConfig) -> AsyncWebClient:
    """The Web API client: SLACK_API_URL as base, retrying 429 (Retry-After), 5xx and resets.
    Distributed mode's has no token: each workspace's calls carry the workspace's own."""
    token = config.settings.slack_bot_token
    if token is None and not config.settings.distributed:
        raise ConfigError(
            "SLACK_BOT_TOKEN: not set (the bot token, xoxb-…; or SLACK_CLIENT_ID and "
            "SLACK_CLIENT_SECRET to install into many workspaces)"
        )
    return AsyncWebClient(
        token=token.get_secret_value() if token is not None else None,
        base_url=config.settings.slack_api_url,
        retry_handlers=[
            AsyncConnectionErrorRetryHandler(max_retry_count=2),
            AsyncRateLimitErrorRetryHandler(max_retry_count=2),
            AsyncServerErrorRetryHandler(max_retry_count=2),
        ],
    )


class _NoTokenNotice(logging.Filter):
    """Bolt reads SLACK_BOT_TOKEN from the environment itself and, given a client and an
    authorize function too, warns at every start that the token is unused: the client (and the
    authorize function) carry that same token."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() not in (
            warning_client_prioritized_and_token_skipped(),
            warning_token_skipped(),
        )


def _bolt_logger() -> logging.Logger:
    logger = logging.getLogger("slack_bolt.AsyncApp")
    if not any(isinstance(f, _NoTokenNotice) for f in logger.filters):
        logger.addFilter(_NoTokenNotice())
    return logger


@dataclass
class SlackBot:
    """The Bolt app and the job worker of one bot process."""

    app: AsyncApp
    worker: Worker
    deps: SlackDeps
    edge: SlackEdge
    webhooks: TrutoWebhooks
    authorize: SingleWorkspaceAuthorize | None  # single-workspace mode
    fast_ack: FastAck | None
    distributed: Distributed | None = None
    client: AsyncWebClient | None = None  # the Web API client (distributed mode: no token of its own)
    processes: WorkerProcesses | None = None
    local: Worker | None = None  # beside worker processes: runs the jobs this process kept
    single: Single | None = None  # single-workspace mode's parts

    def http_app(self, **options: Any) -> Starlette:
        """The HTTP app of this bot: Slack's route through the edge, the fast ack and Bolt; the
        unified API's webhooks; probes. `options`: create_http_app's (redis_ok, background…)."""
        return create_http_app(
            self.app,
            self.edge,
            truto_webhooks=self.webhooks.receive,
            fast_path=self.fast_ack,
            routes=self.distributed.routes() if self.distributed is not None else [],
            **options,
        )

    async def prepare(self) -> None:
        """Before serving: the database schema up to date (distributed mode; single-workspace
        mode where it keeps people's own connections). Run on its own event loop; the server's
        opens its own connections."""
        if self.distributed is not None:
            await self.distributed.prepare()
        if self.single is not None:
            await self.single.prepare()

    def warm_up(self) -> None:
        """Single-workspace mode: auth.test before the first request needs it."""
        if self.authorize is not None:
            self.authorize.warm_up()

    @property
    def core(self) -> Core:
        return self.deps.core

    async def run_worker(self) -> None:
        if not self.deps.jobs.durable:
            log.warning(
                "REDIS_URL is not set: acknowledged updates wait in this process only; a crash loses them"
            )
        await asyncio.gather(
            self.worker.run(),
            self.listen(),
            digests.clock(self.deps, self.workspace),
            reminders.clock(self.deps, self.workspace),
            thread_sync.clock(self.deps, self.workspace),
        )

    async def workspace(self, tenant: str | None) -> tuple[SlackDeps, AsyncWebClient] | None:
        """A workspace's deps and Slack client (distributed mode), or the one workspace's."""
        if self.distributed is not None:
            return await self.distributed.tenancy.made_for(tenant) if tenant else None
        return (self.deps, self.client) if self.client is not None else None

    async def listen(self) -> None:
        """Distributed mode: hear other processes' workspace changes (uninstalls, connections,
        settings) and read those workspaces again at once."""
        if self.distributed is not None:
            await self.distributed.workspaces.listen()

    async def run_beside(self, processes: int) -> None:
        """Worker processes take the jobs from Redis; this process runs only the jobs it had to
        keep itself while Redis was away."""
        self.local = dataclasses.replace(self.worker, memory_only=True)
        self.processes = WorkerProcesses(processes)
        await asyncio.gather(self.processes.run(), self.local.run(), self.listen())  # digests: in the workers

    async def drain(self, grace: float) -> None:
        """SIGTERM: workers take nothing new, hand back what they have not started, and finish
        the rest within `grace` seconds (what is still running then is handed back too)."""
        if self.processes is not None:
            await asyncio.to_thread(self.processes.stop, grace + 5.0)
        for worker in (self.local, self.worker):
            if worker is not None:
                await worker.shutdown(grace)


def build_bot(
    config: AppConfig, *, web_client: AsyncWebClient | None = None, directory: SlackDirectory | None = None
) -> SlackBot:
    """The bot and its core; Slack users are named through this bot's client unless a
    `directory` is given (the demo's)."""
    secret = config.settings.slack_signing_secret
    missing = missing_to_serve(config.settings)
    if missing or secret is None:
        raise ConfigError("\n".join(missing))
    settings = config.settings
    client = web_client or slack_client(config)
    core = build_core(config, slack=None if settings.distributed else client, directory=directory)
    jobs = JobQueue(core.redis, memory_limit=settings.memory_job_limit)
    quota = UserQuota(core.redis, settings.user_quota_per_minute)
    deps = SlackDeps(
        config=config, core=core, signer=Signer(secret.get_secret_value()), jobs=jobs, quota=quota
    )
    distributed = build_distributed(config, deps, client) if settings.distributed else None
    one = build_single(config, deps, client) if distributed is None else None
    if distributed is not None:
        handler, dropped = (distributed.tenancy.handler(h) for h in (job_handler, dropped_job_handler))
    else:
        handler, dropped = job_handler(deps, client), dropped_job_handler(deps, client)
    worker = Worker(
        jobs,
        handler,
        concurrency=settings.worker_concurrency,
        reclaim_idle=settings.job_reclaim_seconds,
        dropped=dropped,
        share_key=account_share(deps),
    )
    single = SingleWorkspaceAuthorize(client) if distributed is None else None
    authorize: AsyncAuthorize | None = single or (distributed.authorize if distributed else None)
    app = AsyncApp(
        name="ticketbot",  # without a name Bolt reads the whole call stack (0.1 s) to make one up
        signing_secret=secret.get_secret_value(),
        client=client,
        authorize=authorize,  # type: ignore[arg-type]  # Bolt takes an AsyncAuthorize too
        oauth_flow=distributed.flow if distributed is not None else None,
        process_before_response=True,
        logger=_bolt_logger(),
        user_facing_authorize_error_message=NOT_INSTALLED,
    )

    middleware.register(app, deps, quota, distributed.tenancy if distributed is not None else None)
    register_all(app, distributed.tenancy if distributed is not None else None)
    # One budget for every body read before its signature is checked, on either route.
    bodies = BodyReader(
        settings.http_max_body_bytes,
        settings.http_body_timeout_seconds,
        UnverifiedBudget(
            settings.http_unverified_bytes,
            client_share=0.25 if settings.http_max_connections_per_client else 1.0,
        ),
    )
    replay = ReplayGuard(core.cache.backend)
    edge = SlackEdge(SignatureCheck(secret.get_secret_value()), bodies, replay)
    webhooks = TrutoWebhooks(
        deps,
        bodies,
        distributed.connections if distributed is not None else None,
        one.own if one is not None else None,
    )
    fast_ack = FastAck(deps, replay, distributed.tenancy.deps_for if distributed is not None else None)
    return SlackBot(
        app, worker, deps, edge, webhooks, single, fast_ack, distributed, client=client, single=one
    )
