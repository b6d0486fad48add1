"""Per-account request budget for the ticketing API (it allows 50 requests per 10 s per
connected account). A sliding window in Redis, shared by every replica; in memory without Redis."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.store import keys
from bot.truto.errors import RateLimited

log = logging.getLogger(__name__)

# A sliding window, as the API counts: at most ARGV[1] requests in any ARGV[2] ms.
# KEYS[1] a sorted set of request times. Returns 0 when this request fits, else the wait in ms.
_WINDOW = """
local now = redis.call('TIME')
local now_us = tonumber(now[1]) * 1000000 + tonumber(now[2])
local window_us = tonumber(ARGV[2]) * 1000
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now_us - window_us)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[1]) then
  redis.call('ZADD', KEYS[1], now_us, now_us .. '-' .. ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 0
end
local oldest = tonumber(redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')[2])
return math.max(1, math.ceil((oldest + window_us - now_us) / 1000))
"""


# Requests take a moment to reach the API, and not all the same moment: counting each one a
# little longer than the API's window keeps a late arrival from landing in the next window.
WINDOW_SLACK = 0.25  # seconds


DEFAULT_MAX_WAIT = 60.0  # seconds


class RateLimiter(Protocol):
    async def acquire(self, key: str) -> None: ...


def _no_room(max_wait: float, retry_after: float) -> RateLimited:
    return RateLimited(
        f"the account's request budget has no room within {max_wait:g}s", retry_after=retry_after, status=429
    )


def _over(waited_until: float, wait: float, max_wait: float) -> None:
    """A wait for the budget has a deadline: past it, the caller is told the tool is busy."""
    if time.monotonic() + wait > waited_until:
        raise _no_room(max_wait, wait)


class Turnstile:
    """Waiters for one budget in this process pass one at a time, in order: the one in front
    checks the window and sleeps until its room; the rest wait behind it without checking.
    Without it every waiter slept until the same moment, all woke together and one got the
    room: with 64 jobs waiting on an account, up to 64 checks (Redis scripts) for each request
    the API was sent. Waiting in line counts towards the deadline."""

    def __init__(self) -> None:
        self._lines: dict[str, asyncio.Lock] = {}

    @contextlib.asynccontextmanager
    async def turn(self, key: str, max_wait: float) -> AsyncIterator[float]:
        """The caller's turn, with its deadline (monotonic) for the wait that follows."""
        until = time.monotonic() + max_wait
        line = self._lines.setdefault(key, asyncio.Lock())
        try:
            async with asyncio.timeout(max_wait):
                await line.acquire()
        except TimeoutError:
            raise _no_room(max_wait, 1.0) from None
        try:
            yield until
        finally:
            line.release()


class MemoryRateLimiter:
    """The same sliding window, for this process alone."""

    def __init__(self, requests: int, per_seconds: float, max_wait: float = DEFAULT_MAX_WAIT) -> None:
        self.requests = requests
        self.window = per_seconds + WINDOW_SLACK
        self.max_wait = max_wait
        self._times: dict[str, deque[float]] = {}
        self._lock = asyncio.Lock()
        self._turnstile = Turnstile()

    async def _take(self, key: str) -> float:
        async with self._lock:
            now = time.monotonic()
            times = self._times.setdefault(key, deque())
            while times and times[0] <= now - self.window:
                times.popleft()
            if len(times) < self.requests:
                times.append(now)
                return 0.0
            return times[0] + self.window - now

    async def acquire(self, key: str) -> None:
        async with self._turnstile.turn(key, self.max_wait) as until:
            while True:
                wait = await self._take(key)
                if wait <= 0:
                    return
                _over(until, wait, self.max_wait)
                await asyncio.sleep(wait)


class RedisRateLimiter:
    """Shared across replicas; if Redis fails, this process limits itself alone (logged once)."""

    def __init__(
        self, client: aioredis.Redis, requests: int, per_seconds: float, max_wait: float = DEFAULT_MAX_WAIT
    ) -> None:
        self._script = client.register_script(_WINDOW)
        self.requests = requests
        self.window_ms = int((per_seconds + WINDOW_SLACK) * 1000)
        self.max_wait = max_wait
        self._fallback = MemoryRateLimiter(requests, per_seconds, max_wait)
        self._warned = False
        self._turnstile = Turnstile()

    async def acquire(self, key: str) -> None:
        async with self._turnstile.turn(key, self.max_wait) as until:
            await self._acquire(key, until)

    async def _acquire(self, key: str, until: float) -> None:
        while True:
            try:
                wait_ms = int(
                    await self._script(
                        keys=[keys.shared("ratelimit", key)],
                        args=[self.requests, self.window_ms, uuid.uuid4().hex],
                    )
                )
            except (RedisError, OSError):
                if not self._warned:
                    self._warned = True
                    log.warning("rate limit shared through Redis unavailable; limiting this process alone")
                await self._fallback.acquire(key)
                return
            self._warned = False
            if wait_ms <= 0:
                return
            _over(until, wait_ms / 1000, self.max_wait)
            await asyncio.sleep(wait_ms / 1000)
