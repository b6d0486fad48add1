"""A shared cache for lookup lists and ticket snapshots: Redis, or memory without Redis.

Values are JSON with a `fresh_until` time. A fresh value is served as is; a stale one is
served while one caller (across every process, by a Redis lock) refreshes it in the
background; a missing one is fetched once, however many callers ask at the same moment.
If Redis fails, the cache carries on in memory and says so once, not per request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.domain.packed import PackedItems
from bot.ops.metrics import CACHE_EVENTS, cache_resource

log = logging.getLogger(__name__)

Clock = Callable[[], float]
LARGE_VALUE = 256 * 1024  # bytes
# A stored lookup list (bot/service/lookups.py) begins so; its items are read packed.
_LOOKUP = '{"v":{"present":'
_ITEMS = '"items":['


@dataclass(frozen=True)
class Entry:
    value: Any
    fresh_until: float

    def dumps(self) -> str:
        """The entry as JSON; a value holding packed items (a long lookup list) has their JSON
        spliced in as it is, never unpacked into dicts to be written."""
        marker = f"\x00packed:{uuid.uuid4().hex}\x00"
        spliced: list[bytes] = []

        def packed(obj: Any) -> Any:
            if isinstance(obj, PackedItems):
                spliced.append(obj.json_array())
                return marker
            raise TypeError(f"{type(obj).__name__} is not JSON serializable")

        text = json.dumps({"v": self.value, "f": self.fresh_until}, separators=(",", ":"), default=packed)
        quoted = json.dumps(marker)
        for raw in spliced:
            text = text.replace(quoted, raw.decode(), 1)
        return text

    @classmethod
    def loads(cls, raw: str | bytes) -> Entry:
        """The entry; a long lookup list's items come back packed, read one at a time."""
        if len(raw) > LARGE_VALUE:
            text = raw.decode() if isinstance(raw, bytes) else raw
            at = text.find(_ITEMS) if text.startswith(_LOOKUP) else -1
            if at > 0:  # the value's own "items" key: only a boolean comes before it
                start = at + len(_ITEMS) - 1
                items, end = PackedItems.from_json_array(text, start)
                data = json.loads(text[:start] + "[]" + text[end:])
                data["v"]["items"] = items
                return cls(value=data["v"], fresh_until=float(data["f"]))
        data = json.loads(raw)
        return cls(value=data["v"], fresh_until=float(data["f"]))


class Backend(Protocol):
    async def get(self, key: str) -> Entry | None: ...
    async def set(self, key: str, entry: Entry, keep_for: float) -> None: ...
    async def delete(self, *keys: str) -> None: ...
    async def try_lock(self, key: str, ttl: float) -> str | None: ...
    async def unlock(self, key: str, token: str) -> None: ...
    async def stamp(self, key: str) -> float | None: ...


# The end of a stored entry (Entry.dumps puts "f" last): its stamp, read without the value.
_STAMP = re.compile(rb'"f":(-?[0-9.]+(?:[eE][-+]?[0-9]+)?)}$')
STAMP_TAIL = 64  # bytes read from the end of an entry


class MemoryBackend:
    """In-process storage with expiry: the cache when REDIS_URL is not set."""

    SWEEP_EVERY = 30.0  # seconds between sweeps of expired entries

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._data: dict[str, tuple[float, Any]] = {}
        self._next_sweep = clock() + self.SWEEP_EVERY

    def __len__(self) -> int:
        return len(self._data)

    def _sweep(self) -> None:
        """Drop expired entries that nobody reads again (markers are written once, read never)."""
        now = self._clock()
        if now < self._next_sweep:
            return
        self._next_sweep = now + self.SWEEP_EVERY
        for key in [k for k, (expires, _) in self._data.items() if expires <= now]:
            del self._data[key]

    def _live(self, key: str) -> Any | None:
        item = self._data.get(key)
        if item is None:
            return None
        if item[0] <= self._clock():
            del self._data[key]
            return None
        return item[1]

    async def get(self, key: str) -> Entry | None:
        value = self._live(key)
        return value if isinstance(value, Entry) else None

    async def stamp(self, key: str) -> float | None:
        entry = await self.get(key)
        return entry.fresh_until if entry is not None else None

    async def set(self, key: str, entry: Entry, keep_for: float) -> None:
        self._sweep()
        self._data[key] = (self._clock() + keep_for, entry)

    async def delete(self, *keys: str) -> None:
        for key in keys:
            self._data.pop(key, None)

    async def try_lock(self, key: str, ttl: float) -> str | None:
        self._sweep()
        if self._live(key) is not None:
            return None
        token = uuid.uuid4().hex
        self._data[key] = (self._clock() + ttl, token)
        return token

    async def unlock(self, key: str, token: str) -> None:
        if self._live(key) == token:
            del self._data[key]


_UNLOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class RedisBackend:
    def __init__(self, client: aioredis.Redis) -> None:
        self.client = client
        self._unlock = client.register_script(_UNLOCK)

    @classmethod
    def from_url(cls, url: str) -> RedisBackend:
        from bot.store.redis_client import connect

        return cls(connect(url))

    async def get(self, key: str) -> Entry | None:
        raw = await self.client.get(key)
        if raw is None:
            return None
        if len(raw) > LARGE_VALUE:  # a list of thousands of users: parse it off the event loop
            return await asyncio.to_thread(Entry.loads, raw)
        return Entry.loads(raw)

    async def set(self, key: str, entry: Entry, keep_for: float) -> None:
        await self.client.set(key, entry.dumps(), px=max(1, int(keep_for * 1000)))

    async def stamp(self, key: str) -> float | None:
        """The stored entry's `fresh_until`, which each store sets anew: a copy already parsed
        is still the stored one while the stamp is the same (read from the entry's last bytes,
        not its megabytes)."""
        tail = await self.client.getrange(key, -STAMP_TAIL, -1)
        if isinstance(tail, str):
            tail = tail.encode()
        found = _STAMP.search(tail) if tail else None
        return float(found.group(1)) if found else None

    async def delete(self, *keys: str) -> None:
        if keys:
            await self.client.delete(*keys)

    async def try_lock(self, key: str, ttl: float) -> str | None:
        """SET NX with a token of this call's own. redis-py retries a command whose answer did not
        arrive (a dropped connection, or a reply read after the socket timeout because the event
        loop was busy), so a "no" may answer this very call's first attempt, which did set the
        key: the key holding this call's token tells them apart. Without that check such a retry
        took a first-time request for a repeat, and an acknowledged update was dropped as a replay."""
        token = uuid.uuid4().hex
        if await self.client.set(key, token, nx=True, px=max(1, int(ttl * 1000))):
            return token
        held = await self.client.get(key)
        return token if held in (token, token.encode()) else None

    async def unlock(self, key: str, token: str) -> None:
        await self._unlock(keys=[key], args=[token])


class FailoverBackend:
    """Redis first; on a Redis failure, memory for `retry_after` seconds, logged once per outage."""

    def __init__(self, primary: Backend, *, retry_after: float = 5.0, clock: Clock = time.monotonic) -> None:
        self.primary = primary
        self.fallback = MemoryBackend(clock)
        self._clock = clock
        self._retry_after = retry_after
        self._down_until = 0.0
        self._outage = False

    @property
    def degraded(self) -> bool:
        return self._outage

    async def _call(self, name: str, *args: Any) -> Any:
        if self._clock() >= self._down_until:
            try:
                result = await getattr(self.primary, name)(*args)
            except (RedisError, OSError) as exc:
                self._down_until = self._clock() + self._retry_after
                if not self._outage:
                    self._outage = True
                    log.warning(
                        "Redis unavailable (%s); caching in memory until it answers again", type(exc).__name__
                    )
            else:
                if self._outage:
                    self._outage = False
                    log.warning("Redis answers again; shared cache restored")
                return result
        return await getattr(self.fallback, name)(*args)

    async def get(self, key: str) -> Entry | None:
        result: Entry | None = await self._call("get", key)
        return result

    async def set(self, key: str, entry: Entry, keep_for: float) -> None:
        await self._call("set", key, entry, keep_for)

    async def delete(self, *keys: str) -> None:
        await self._call("delete", *keys)

    async def try_lock(self, key: str, ttl: float) -> str | None:
        result: str | None = await self._call("try_lock", key, ttl)
        return result

    async def unlock(self, key: str, token: str) -> None:
        await self._call("unlock", key, token)

    async def stamp(self, key: str) -> float | None:
        result: float | None = await self._call("stamp", key)
        return result


Fetch = Callable[[], Awaitable[Any]]


LOCK_SECONDS = 5.0


class LockBusy(TimeoutError):
    """A lock that must be held (a value no write may be lost from) was not taken in time."""


async def locked_update(
    backend: Backend,
    key: str,
    change: Callable[[Any], tuple[Any, float]],
    *,
    wait: float = 1.0,
    lock_for: float = LOCK_SECONDS,
    required: bool = False,
) -> Any:
    """Read, change and write one value under a short lock (Redis or memory). `change` gets the
    value (None when absent) and returns the new value and how long to keep it (None or a
    keep time of 0 deletes it). Returns the new value.

    A lock not taken within `wait` seconds: where a lost write costs less than a stuck one
    (a card list), the write goes ahead without it; where it is `required` (a batch's state,
    whose lost write leaves the batch unfinished forever), LockBusy is raised and nothing is
    written. A lock whose holder died expires after `lock_for`, so a `wait` longer than that
    always gets it."""
    lock = key + ":lock"
    token = None
    deadline = time.monotonic() + wait
    while token is None:
        token = await backend.try_lock(lock, lock_for)
        if token is None:
            if time.monotonic() > deadline:
                if required:
                    raise LockBusy(f"{key} stayed locked for {wait:.1f} s")
                break
            await asyncio.sleep(0.02)
    try:
        entry = await backend.get(key)
        value, keep_for = change(entry.value if entry is not None else None)
        if value is None or keep_for <= 0:
            await backend.delete(key)
        else:
            await backend.set(key, Entry(value, fresh_until=time.time() + keep_for), keep_for)
        return value
    finally:
        if token is not None:
            await backend.unlock(lock, token)


@dataclass
class CacheStats:
    hits: int = 0
    stale_hits: int = 0
    misses: int = 0
    refreshes: int = 0


class Cache:
    """Stale-while-refresh with single flight, on top of a Backend."""

    def __init__(
        self,
        backend: Backend,
        *,
        clock: Clock = time.time,
        lock_ttl: float = 30.0,
        wait_poll: float = 0.05,
    ) -> None:
        self.backend = backend
        self.stats = CacheStats()
        self._clock = clock
        self._lock_ttl = lock_ttl
        self._wait_poll = wait_poll
        self._inflight: dict[str, asyncio.Future[Any]] = {}
        self._background: set[asyncio.Task[None]] = set()

    async def get_or_fetch(self, key: str, fetch: Fetch, *, ttl: float, stale_for: float) -> Any:
        entry = await self.backend.get(key)
        if entry is not None:
            if entry.fresh_until > self._clock():
                self.stats.hits += 1
                CACHE_EVENTS.labels(cache_resource(key), "hit").inc()
            else:
                self.stats.stale_hits += 1
                CACHE_EVENTS.labels(cache_resource(key), "stale").inc()
                self._refresh_in_background(key, fetch, ttl, stale_for)
            return entry.value
        self.stats.misses += 1
        CACHE_EVENTS.labels(cache_resource(key), "miss").inc()
        return await self._single_flight(key, lambda: self._fetch_cold(key, fetch, ttl, stale_for))

    async def store(self, key: str, value: Any, *, ttl: float, stale_for: float) -> None:
        await self.backend.set(key, Entry(value, self._clock() + ttl), ttl + stale_for)

    async def refresh(self, key: str, fetch: Fetch, *, ttl: float, stale_for: float) -> Any:
        """Fetch now and store, whatever the cache holds (an explicit refresh)."""
        self.stats.refreshes += 1
        CACHE_EVENTS.labels(cache_resource(key), "refresh").inc()
        value = await fetch()
        await self.store(key, value, ttl=ttl, stale_for=stale_for)
        return value

    async def drain(self) -> None:
        """Wait for background refreshes (tests and shutdown)."""
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)

    async def _single_flight(self, key: str, work: Callable[[], Awaitable[Any]]) -> Any:
        """One `work` per key in this process; others await its result."""
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            result = await work()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # mark retrieved: waiters re-raise it, nobody else must
            raise
        else:
            future.set_result(result)
            return result
        finally:
            del self._inflight[key]

    async def _fetch_cold(self, key: str, fetch: Fetch, ttl: float, stale_for: float) -> Any:
        lock_key = f"{key}:lock"
        deadline = self._clock() + self._lock_ttl
        while True:
            token = await self.backend.try_lock(lock_key, self._lock_ttl)
            if token is not None:
                try:
                    # The holder before us may have stored it between our last look and the lock.
                    entry = await self.backend.get(key)
                    if entry is not None:
                        return entry.value
                    return await self.refresh(key, fetch, ttl=ttl, stale_for=stale_for)
                finally:
                    await self.backend.unlock(lock_key, token)
            # Another process is fetching it: wait for its value rather than ask the API too.
            await asyncio.sleep(self._wait_poll)
            entry = await self.backend.get(key)
            if entry is not None:
                return entry.value
            if self._clock() > deadline:
                return await self.refresh(key, fetch, ttl=ttl, stale_for=stale_for)

    def _refresh_in_background(self, key: str, fetch: Fetch, ttl: float, stale_for: float) -> None:
        if key in self._inflight:
            return

        async def run() -> None:
            lock_key = f"{key}:lock"
            token = await self.backend.try_lock(lock_key, self._lock_ttl)
            if token is None:
                return  # someone (maybe another replica) is refreshing it already
            try:
                await self.refresh(key, fetch, ttl=ttl, stale_for=stale_for)
            except Exception:
                log.warning("background refresh of %s failed; serving the stale value", key, exc_info=True)
            finally:
                await self.backend.unlock(lock_key, token)

        async def flight() -> None:
            await self._single_flight(key, run)

        task = asyncio.get_running_loop().create_task(flight())
        self._background.add(task)
        task.add_done_callback(self._background.discard)
