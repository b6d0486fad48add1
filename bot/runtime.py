"""Builds the core objects from the configuration (shared by the CLI and the Slack app)."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from bot.cache import Cache, make_backend
from bot.config import AppConfig, ConfigError
from bot.lookups import Lookups
from bot.service import SlackDirectory, TicketService
from bot.snapshots import Snapshots
from bot.truto import TrutoClient


@dataclass
class Core:
    config: AppConfig
    client: TrutoClient
    cache: Cache
    lookups: Lookups
    snapshots: Snapshots
    service: TicketService

    async def aclose(self) -> None:
        await self.cache.drain()
        await self.client.aclose()


def build_core(config: AppConfig, directory: SlackDirectory | None = None) -> Core:
    settings = config.settings
    token = settings.truto_api_token
    if token is None:
        raise ConfigError("TRUTO_API_TOKEN: not set (the API token of the unified ticketing API)")
    client = TrutoClient(
        settings.truto_base_url,
        SecretStr(token.get_secret_value()),
        connect_timeout=settings.truto_connect_timeout,
        timeout=settings.truto_timeout,
    )
    cache = Cache(make_backend(settings.redis_url))
    lookups = Lookups(client, cache, ttl=settings.lookup_ttl_seconds)
    snapshots = Snapshots(cache, ttl=settings.snapshot_ttl_seconds)
    service = TicketService(config, client, lookups, snapshots, directory)
    return Core(config, client, cache, lookups, snapshots, service)
