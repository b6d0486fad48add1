"""Per-account request budget for the ticketing API (it allows 50 requests per 10 s per
connected account). A token bucket in Redis, shared by every replica; in memory without Redis."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Protocol

import redis.asyncio as aioredis
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# KEYS[1] bucket; ARGV: capacity, refill per ms. Returns 0 when a token was taken, else the wait in ms.
_BUCKET = """
local now = redis.call('TIME')
local now_ms = tonumber(now[1]) * 1000 + math.floor(tonumber(now[2]) / 1000)
local capacity = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 't', 'at')
local tokens = tonumber(state[1]) or capacity
local at = tonumber(state[2]) or now_ms
tokens = math.min(capacity, tokens + (now_ms - at) * per_ms)
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
else
  wait = math.ceil((1 - tokens) / per_ms)
end
redis.call('HSET', KEYS[1], 't', tokens, 'at', now_ms)
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / per_ms) + 1000)
return wait
"""


class RateLimiter(Protocol):
    async def acquire(self, key: str) -> None: ...


class MemoryRateLimiter:
    def __init__(self, requests: int, per_seconds: float) -> None:
        self.capacity = float(requests)
        self.per_second = requests / per_seconds
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = asyncio.Lock()

    async def _take(self, key: str) -> float:
        async with self._lock:
            now = time.monotonic()
            tokens, at = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - at) * self.per_second)
            if tokens >= 1:
                self._buckets[key] = (tokens - 1, now)
                return 0.0
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.per_second

    async def acquire(self, key: str) -> None:
        while True:
            wait = await self._take(key)
            if wait <= 0:
                return
            await asyncio.sleep(wait)


class RedisRateLimiter:
    """Shared across replicas; if Redis fails, this process limits itself alone (logged once)."""

    def __init__(self, client: aioredis.Redis, requests: int, per_seconds: float) -> None:
        self._script = client.register_script(_BUCKET)
        self.capacity = requests
        self.per_ms = requests / (per_seconds * 1000)
        self._fallback = MemoryRateLimiter(requests, per_seconds)
        self._warned = False

    async def acquire(self, key: str) -> None:
        while True:
            try:
                wait_ms = int(
                    await self._script(
                        keys=[f"ticketbot:v1:ratelimit:{key}"], args=[self.capacity, self.per_ms]
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
            await asyncio.sleep(wait_ms / 1000)
