"""Lookup lists per account, fetched through every page and cached (Redis or memory)."""

from __future__ import annotations

import asyncio

from bot.sandbox import SandboxServer
from bot.service.lookups import Lookups
from bot.store import keys
from bot.store.cache import Cache, FailoverBackend, RedisBackend
from bot.store.keys import cache_key
from bot.truto.client import TrutoClient
from tests.conftest import JIRA, LINEAR
from tests.redis_server import RedisProcess


async def test_lists_are_fetched_once_per_ttl(
    client: TrutoClient, sandbox: SandboxServer, cache: Cache
) -> None:
    lookups = Lookups(client, cache)
    statuses = await lookups.get(JIRA, "ticket_status")
    assert statuses.names == ["To Do", "In Progress", "In Review", "Done"]
    users = await lookups.get(JIRA, "users")
    assert len(users.items) == 320
    for _ in range(3):
        await lookups.get(JIRA, "users")
    assert len(sandbox.state.calls("GET", "/users")) == 4  # 4 pages, once
    assert len(sandbox.state.calls("GET", "/ticket_status")) == 1


async def test_accounts_are_cached_apart(client: TrutoClient, cache: Cache) -> None:
    lookups = Lookups(client, cache)
    jira = await lookups.get(JIRA, "ticket_status")
    linear = await lookups.get(LINEAR, "ticket_status")
    assert jira.names != linear.names
    assert cache_key(JIRA, "lookup", "users") == f"ticketbot:{keys.current()}:sandbox-jira:lookup:users"


async def test_an_absent_list_is_remembered(
    client: TrutoClient, sandbox: SandboxServer, cache: Cache
) -> None:
    lookups = Lookups(client, cache)
    for _ in range(3):
        types = await lookups.get(LINEAR, "ticket_types")
        assert not types.present and types.items == []
    assert len(sandbox.state.calls("GET", "/ticket_types")) == 1


async def test_remote_data_is_not_cached(client: TrutoClient, sandbox: SandboxServer, cache: Cache) -> None:
    sandbox.state.profiles["sandbox-jira"].lists["teams"][0]["remote_data"] = {"big": "x" * 1000}
    teams = await Lookups(client, cache).get(JIRA, "teams")
    assert "remote_data" not in teams.items[0]


async def test_explicit_refresh_fetches_again(
    client: TrutoClient, sandbox: SandboxServer, cache: Cache
) -> None:
    lookups = Lookups(client, cache)
    await lookups.get(JIRA, "tags")
    sandbox.state.profiles["sandbox-jira"].lists["tags"].append({"id": "jl-new", "name": "brand-new"})
    refreshed = await lookups.refresh(JIRA, ["tags"])
    assert "brand-new" in refreshed["tags"].names
    assert "brand-new" in (await lookups.get(JIRA, "tags")).names
    assert len(sandbox.state.calls("GET", "/tags")) == 2


async def test_fifty_concurrent_commands_on_a_cold_list_fetch_it_once(
    client: TrutoClient, sandbox: SandboxServer, clean_redis: str
) -> None:
    sandbox.state.latency = 0.05
    replicas = [Lookups(client, Cache(RedisBackend.from_url(clean_redis), wait_poll=0.01)) for _ in range(2)]
    found = await asyncio.gather(
        *(replicas[i % 2].resolve(JIRA, "ticket_priorities", "high") for i in range(50))
    )
    assert {item["id"] for item in found} == {"jp2"}
    assert len(sandbox.state.calls("GET", "/ticket_priorities")) == 1


async def test_resolution_survives_redis_stopping(
    client: TrutoClient, sandbox: SandboxServer, own_redis: RedisProcess
) -> None:
    lookups = Lookups(client, Cache(FailoverBackend(RedisBackend.from_url(own_redis.url))))
    assert (await lookups.resolve(JIRA, "ticket_status", "done"))["id"] == "js4"
    own_redis.stop()
    assert (await lookups.resolve(JIRA, "ticket_status", "in review"))["id"] == "js3"
    assert (await lookups.user_by_email(JIRA, "ana@acme.example"))["id"] == "ju0001"
