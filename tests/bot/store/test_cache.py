"""The cache against a real Redis server: TTLs, stale-while-refresh, single flight, outages."""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
import redis

from bot.domain.packed import PackedItems
from bot.store.cache import Cache, Entry, FailoverBackend, MemoryBackend, RedisBackend
from tests.redis_server import RedisProcess


class Clock:
    def __init__(self, now: float = 1_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class CountingFetch:
    def __init__(self, delay: float = 0.0) -> None:
        self.calls = 0
        self.delay = delay

    async def __call__(self) -> dict[str, int]:
        self.calls += 1
        await asyncio.sleep(self.delay)
        return {"version": self.calls}


async def test_fresh_values_are_served_from_redis(clean_redis: str) -> None:
    cache = Cache(RedisBackend.from_url(clean_redis))
    fetch = CountingFetch()
    first = await cache.get_or_fetch("ticketbot:v1:t:a", fetch, ttl=60, stale_for=60)
    second = await cache.get_or_fetch("ticketbot:v1:t:a", fetch, ttl=60, stale_for=60)
    assert first == second == {"version": 1}
    assert fetch.calls == 1
    assert (cache.stats.misses, cache.stats.hits) == (1, 1)
    raw = redis.Redis.from_url(clean_redis).get("ticketbot:v1:t:a")
    assert raw is not None and Entry.loads(raw).value == {"version": 1}


async def test_redis_keeps_the_key_for_ttl_plus_stale_window(clean_redis: str) -> None:
    cache = Cache(RedisBackend.from_url(clean_redis))
    await cache.get_or_fetch("ticketbot:v1:t:ttl", CountingFetch(), ttl=600, stale_for=3000)
    pttl = redis.Redis.from_url(clean_redis).pttl("ticketbot:v1:t:ttl")
    assert 3_590_000 < pttl <= 3_600_000


async def test_expired_keys_are_fetched_again(clean_redis: str) -> None:
    cache = Cache(RedisBackend.from_url(clean_redis))
    fetch = CountingFetch()
    await cache.get_or_fetch("ticketbot:v1:t:exp", fetch, ttl=0.1, stale_for=0.1)
    await asyncio.sleep(0.35)  # past ttl + stale window: Redis itself dropped the key
    assert await cache.get_or_fetch("ticketbot:v1:t:exp", fetch, ttl=0.1, stale_for=0.1) == {"version": 2}
    assert fetch.calls == 2


async def test_stale_value_is_served_while_one_caller_refreshes(clean_redis: str) -> None:
    clock = Clock()
    cache = Cache(RedisBackend.from_url(clean_redis), clock=clock)
    fetch = CountingFetch(delay=0.05)
    await cache.get_or_fetch("ticketbot:v1:t:swr", fetch, ttl=10, stale_for=100)
    clock.now += 11  # stale now
    answers = await asyncio.gather(
        *(cache.get_or_fetch("ticketbot:v1:t:swr", fetch, ttl=10, stale_for=100) for _ in range(20))
    )
    assert answers == [{"version": 1}] * 20  # nobody waited for the refresh
    await cache.drain()
    assert fetch.calls == 2  # one refresh for twenty stale reads
    assert await cache.get_or_fetch("ticketbot:v1:t:swr", fetch, ttl=10, stale_for=100) == {"version": 2}


async def test_a_refresh_already_running_elsewhere_is_not_repeated(clean_redis: str) -> None:
    clock = Clock()
    replica_a = Cache(RedisBackend.from_url(clean_redis), clock=clock)
    replica_b = Cache(RedisBackend.from_url(clean_redis), clock=clock)
    fetch = CountingFetch(delay=0.1)
    await replica_a.get_or_fetch("ticketbot:v1:t:rep", fetch, ttl=10, stale_for=100)
    clock.now += 11
    await replica_a.get_or_fetch("ticketbot:v1:t:rep", fetch, ttl=10, stale_for=100)
    await asyncio.sleep(0.02)  # replica A holds the Redis lock now
    await replica_b.get_or_fetch("ticketbot:v1:t:rep", fetch, ttl=10, stale_for=100)
    await asyncio.gather(replica_a.drain(), replica_b.drain())
    assert fetch.calls == 2


async def test_fifty_cold_callers_cause_one_fetch_across_two_replicas(clean_redis: str) -> None:
    replicas = [Cache(RedisBackend.from_url(clean_redis), wait_poll=0.01) for _ in range(2)]
    fetch = CountingFetch(delay=0.1)
    answers = await asyncio.gather(
        *(replicas[i % 2].get_or_fetch("ticketbot:v1:t:cold", fetch, ttl=60, stale_for=60) for i in range(50))
    )
    assert fetch.calls == 1
    assert answers == [{"version": 1}] * 50


async def test_a_failed_fetch_reaches_every_waiter_and_is_not_cached(clean_redis: str) -> None:
    cache = Cache(RedisBackend.from_url(clean_redis))
    calls = 0

    async def failing() -> None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.02)
        raise RuntimeError("upstream down")

    results = await asyncio.gather(
        *(cache.get_or_fetch("ticketbot:v1:t:fail", failing, ttl=60, stale_for=60) for _ in range(5)),
        return_exceptions=True,
    )
    assert calls == 1
    assert all(isinstance(r, RuntimeError) for r in results)
    assert await cache.backend.get("ticketbot:v1:t:fail") is None


async def test_redis_down_falls_back_to_memory_and_warns_once(
    own_redis: RedisProcess, caplog: pytest.LogCaptureFixture
) -> None:
    backend = FailoverBackend(RedisBackend.from_url(own_redis.url), retry_after=0.0)
    cache = Cache(backend)
    fetch = CountingFetch()
    await cache.get_or_fetch("ticketbot:v1:t:down", fetch, ttl=60, stale_for=60)
    own_redis.stop()
    caplog.set_level(logging.WARNING, logger="bot.store.cache")
    for _ in range(10):
        assert await cache.get_or_fetch("ticketbot:v1:t:down", fetch, ttl=60, stale_for=60) is not None
    assert backend.degraded
    warnings = [r for r in caplog.records if "Redis unavailable" in r.getMessage()]
    assert len(warnings) == 1
    assert fetch.calls == 2  # one fetch when Redis went away, then memory served the rest
    own_redis.start()
    await cache.get_or_fetch("ticketbot:v1:t:down", fetch, ttl=60, stale_for=60)
    assert not backend.degraded
    assert any("answers again" in r.getMessage() for r in caplog.records)


async def test_redis_down_at_start_up_still_serves(caplog: pytest.LogCaptureFixture) -> None:
    from tests.redis_server import free_port

    backend = FailoverBackend(RedisBackend.from_url(f"redis://127.0.0.1:{free_port()}/0"))
    cache = Cache(backend)
    fetch = CountingFetch()
    assert await cache.get_or_fetch("k", fetch, ttl=60, stale_for=60) == {"version": 1}
    assert await cache.get_or_fetch("k", fetch, ttl=60, stale_for=60) == {"version": 1}
    assert fetch.calls == 1


async def test_memory_backend_expires_and_locks() -> None:
    clock = Clock()
    backend = MemoryBackend(clock)
    await backend.set("k", Entry(1, 0), keep_for=5)
    assert await backend.get("k") == Entry(1, 0)
    token = await backend.try_lock("lock", 10)
    assert token is not None and await backend.try_lock("lock", 10) is None
    await backend.unlock("lock", "not-mine")
    assert await backend.try_lock("lock", 10) is None
    await backend.unlock("lock", token)
    assert await backend.try_lock("lock", 10) is not None
    clock.now += 6
    assert await backend.get("k") is None


async def test_redis_lock_is_released_only_by_its_owner(clean_redis: str) -> None:
    backend = RedisBackend.from_url(clean_redis)
    token = await backend.try_lock("ticketbot:v1:t:lock", 10)
    assert token is not None
    assert await backend.try_lock("ticketbot:v1:t:lock", 10) is None
    await backend.unlock("ticketbot:v1:t:lock", "someone-else")
    assert await backend.try_lock("ticketbot:v1:t:lock", 10) is None
    await backend.unlock("ticketbot:v1:t:lock", token)
    assert await backend.try_lock("ticketbot:v1:t:lock", 10) is not None


def test_an_entry_holding_packed_items_is_written_as_the_same_json() -> None:
    items = [
        {"id": f"u{i}", "name": f"Person {i}", "emails": [{"email": f"p{i}@x.example"}]} for i in range(50)
    ]
    value = {"present": True, "items": PackedItems(items), "partial": False}
    written = Entry(value, 123.5).dumps()
    assert json.loads(written) == {"v": {"present": True, "items": items, "partial": False}, "f": 123.5}
    assert Entry.loads(written).value["items"] == items


def test_a_long_stored_lookup_list_is_read_back_packed_one_item_at_a_time() -> None:
    items = [
        {"id": f"u{i}", "name": f"Pé {i}", "emails": [{"email": f"p{i}@x.example"}]} for i in range(9000)
    ]
    raw = Entry({"present": True, "items": items, "partial": False}, 99.5).dumps().encode()
    read = Entry.loads(raw)
    assert isinstance(read.value["items"], PackedItems)
    assert list(read.value["items"]) == items and read.value["items"][8999] == items[8999]
    assert (read.value["present"], read.value["partial"], read.fresh_until) == (True, False, 99.5)
    other = Entry({"a": [{"items": [1]}] * 9000}, 1.0).dumps()  # any other long value: as it was
    assert Entry.loads(other).value == {"a": [{"items": [1]}] * 9000}
