"""Builds the core objects from the configuration (shared by the CLI and the Slack app)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from dataclasses import dataclass

import redis.asyncio as aioredis
from pydantic import SecretStr
from redis.asyncio.cluster import RedisCluster
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.actors import SlackDirectory
from bot.ops.config import AppConfig, ConfigError, Settings
from bot.service.audit import AuditTrail
from bot.service.lookups import Lookups
from bot.service.reaction_check import reaction_mistakes
from bot.service.snapshots import Snapshots
from bot.service.tickets import TicketService
from bot.slack.directory import SlackUserDirectory
from bot.store import keys, namespaces
from bot.store.cache import Backend, Cache, FailoverBackend, MemoryBackend, RedisBackend
from bot.store.redis_client import connect
from bot.truto.client import TrutoClient
from bot.truto.discovery import Discovery
from bot.truto.ratelimit import MemoryRateLimiter, RateLimiter, RedisRateLimiter

log = logging.getLogger(__name__)


@dataclass
class Core:
    config: AppConfig
    client: TrutoClient
    cache: Cache
    lookups: Lookups
    snapshots: Snapshots
    service: TicketService
    redis: aioredis.Redis | None = None
    slack_directory: SlackUserDirectory | None = None  # Slack's own (not a demo's): admins, channels

    def for_workspace(self, config: AppConfig, slack: AsyncWebClient, tenant: str) -> Core:
        """One workspace's core (distributed mode): its own configuration, its Slack facts read
        with its bot token and kept under its id, its audit lists; the API client, caches and
        discovery shared. The one place besides `build_core` a service is wired."""
        directory = SlackUserDirectory(slack, self.cache, team=tenant)
        audit = self.service.executor.audit
        service = TicketService(
            config,
            self.client,
            self.lookups,
            self.snapshots,
            directory,
            audit.for_tenant(tenant) if audit is not None else None,
            self.service.discovery,
        )
        return dataclasses.replace(self, config=config, service=service, slack_directory=directory)

    async def aclose(self) -> None:
        await self.lookups.drain()
        await self.cache.drain()
        await self.client.aclose()
        if self.redis is not None:
            await self.redis.aclose()

    async def warm_up(self) -> None:
        """Connect to every node of a Redis Cluster before requests arrive: redis-py's asyncio
        cluster client can fail a command that races a node's first connection. Learn the name
        of each account's tool (its capabilities) before the first message needs it."""
        if isinstance(self.redis, RedisCluster):
            with contextlib.suppress(Exception):
                await self.redis.ping(target_nodes=RedisCluster.ALL_NODES)
        if self.redis is not None:
            try:  # the history and audit trail of the namespace earlier versions derived
                await namespaces.adopt_previous(self.redis)
            except Exception:
                log.warning("keys of an earlier namespace could not be moved", exc_info=True)
        for account in self.config.accounts.values():
            if account.tool is None:
                with contextlib.suppress(Exception):
                    await self.service.abilities(account)
            with contextlib.suppress(Exception):
                for mistake in await reaction_mistakes(self.service, account):
                    log.warning("account %s: a reaction will be refused: %s", account.name, mistake)

    async def redis_ok(self) -> bool | None:
        """True/False when Redis is configured and answers or not; None when not configured."""
        if self.redis is None:
            return None
        try:
            return bool(await self.redis.ping())
        except Exception:
            return False


def _limiter(settings: Settings, requests: int, redis_client: aioredis.Redis | None) -> RateLimiter | None:
    """A sliding window of `requests` per window, shared through Redis when there is one."""
    if not requests:
        return None
    window, wait = settings.truto_rate_window_seconds, settings.rate_budget_wait_seconds
    if redis_client is not None:
        return RedisRateLimiter(redis_client, requests, window, wait)
    return MemoryRateLimiter(requests, window, wait)


def build_core(
    config: AppConfig, *, slack: AsyncWebClient | None = None, directory: SlackDirectory | None = None
) -> Core:
    """`slack`: the Web API client whose users.info names Slack users (when no `directory`)."""
    settings = config.settings
    token = settings.truto_api_token
    if token is None:
        raise ConfigError("TRUTO_API_TOKEN: not set (the API token of the unified ticketing API)")
    secret = settings.slack_signing_secret
    if settings.redis_namespace:
        keys.use(settings.redis_namespace)
    else:
        plain = secret.get_secret_value() if secret else None
        ids = [a.integrated_account_id for a in config.accounts.values()]
        keys.use(keys.derive(plain), previous=[keys.derive_with_accounts(plain, ids)])
    backend: Backend = MemoryBackend()
    redis_client = None
    if settings.redis_url:
        shared = RedisBackend(
            connect(
                settings.redis_url,
                cluster=settings.redis_cluster,
                sentinel=settings.redis_sentinel,
                sentinel_master=settings.redis_sentinel_master,
                max_connections=settings.redis_max_connections,
            )
        )
        redis_client = shared.client
        backend = FailoverBackend(shared)
    cache = Cache(backend)
    share = max(1, int(settings.truto_rate_limit * settings.bulk_budget_share))
    client = TrutoClient(
        settings.truto_base_url,
        SecretStr(token.get_secret_value()),
        connect_timeout=settings.truto_connect_timeout,
        timeout=settings.truto_timeout,
        limiter=_limiter(settings, settings.truto_rate_limit, redis_client),
        # Several accounts share one API token: the token has a budget of its own (500 per 10 s).
        token_limiter=_limiter(settings, settings.truto_token_rate_limit, redis_client),
        bulk_limiter=_limiter(settings, share if settings.truto_rate_limit else 0, redis_client),
    )
    slack_directory = SlackUserDirectory(slack, cache) if slack is not None else None
    if directory is None:
        directory = slack_directory
    lookups = Lookups(client, cache, ttl=settings.lookup_ttl_seconds, kept=settings.accounts_kept)
    snapshots = Snapshots(cache, ttl=settings.snapshot_ttl_seconds)
    audit = AuditTrail(redis_client)
    discovery = Discovery(client, cache, kept=settings.accounts_kept)
    service = TicketService(config, client, lookups, snapshots, directory, audit, discovery)
    return Core(config, client, cache, lookups, snapshots, service, redis_client, slack_directory)
