"""Lookup lists per account, fetched through every page and cached (Redis or memory)."""

from __future__ import annotations

import asyncio

from bot.domain.packed import PackedItems
from bot.sandbox import SandboxServer
from bot.service.lookups import LARGE_LIST, Lookups
from bot.store import keys
from bot.store.cache import Cache, Entry, FailoverBackend, MemoryBackend, RedisBackend
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


async def test_a_long_list_is_packed_and_kept_while_the_stored_one_is_unchanged(
    client: TrutoClient, sandbox: SandboxServer, clean_redis: str
) -> None:
    """Past its local minute a long list is parsed again only if the stored one changed (its
    stamp): parsing 50 000 users every minute held the event loop for nothing."""
    people = [{"id": f"u{i}", "name": f"Person {i}"} for i in range(LARGE_LIST + 500)]
    sandbox.state.profile("sandbox-jira").lists["users"] = people
    cache = Cache(FailoverBackend(RedisBackend.from_url(clean_redis)))
    lookups = Lookups(client, cache, local_ttl=0.0)
    first = await lookups.get(JIRA, "users")
    assert isinstance(first.items, PackedItems) and first.items[7] == {"id": "u7", "name": "Person 7"}
    # Packed a page at a time, and stored as the same JSON a list of dicts would be.
    stored = await cache.backend.get(cache_key(JIRA, "lookup", "users"))
    assert stored is not None and stored.value["items"] == people
    assert first.index.resolve("person 2400", ("user", "users"))["id"] == "u2400"
    again = await lookups.get(JIRA, "users")  # past the local minute: re-checked in the background
    await lookups.drain()
    assert again is first and (await lookups.get(JIRA, "users")) is first  # same stamp: kept
    await lookups.refresh(JIRA, ["users"])  # a new copy stored (another replica's, say)
    refreshed = await lookups.get(JIRA, "users")
    assert refreshed is not first


async def test_the_stamp_is_read_from_the_stored_entry(clean_redis: str) -> None:
    backend = RedisBackend.from_url(clean_redis)
    name = keys.key("stamp-test")
    assert await backend.stamp(name) is None
    await backend.set(name, Entry({"items": ["x" * 500]}, 1733245678.25), 60)
    assert await backend.stamp(name) == 1733245678.25
    memory = MemoryBackend()
    await memory.set(name, Entry([1], 42.5), 60)
    assert await memory.stamp(name) == 42.5
