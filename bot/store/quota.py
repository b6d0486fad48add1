"""A per-user request quota, counted when a request arrives (before its ack).

A fixed one-minute window per Slack user, shared by every replica through Redis (INCRBY with
an expiry). Counted in this process alone when Redis does not answer within the ack budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.store import ack_budget
from bot.store.keys import jobs_key

WINDOW = 60  # seconds
# One key, one round trip, atomic (and fine on a Redis Cluster): count, and expire the window.
_COUNT = """
local count = redis.call('INCRBY', KEYS[1], ARGV[2])
if count == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return count
"""


class UserQuota:
    def __init__(
        self, client: aioredis.Redis | None, per_minute: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.client = client
        self._count = client.register_script(_COUNT) if client is not None else None
        self.per_minute = per_minute
        self._clock = clock
        self._local: dict[str, int] = {}
        self._local_window = -1

    async def _count_shared(self, name: str, cost: int) -> int:
        assert self._count is not None
        return int(await self._count(keys=[name], args=[WINDOW * 2, cost]))

    def _count_local(self, name: str, window: int, cost: int) -> int:
        if window != self._local_window:
            self._local_window = window
            self._local.clear()
        self._local[name] = self._local.get(name, 0) + cost
        return self._local[name]

    def _name(self, team: str | None, user: str, window: int) -> str:
        # In the job stream's hash slot: the fast ack counts it in the job's own write.
        return jobs_key("quota", team or "-", user, str(window))

    def counter(self, team: str | None, user: str | None) -> tuple[str, int, Callable[[], bool]] | None:
        """For a count made in another script (the fast ack's job write, one request): this
        minute's counter of the user, its expiry in seconds, and the count to make in this process
        instead while Redis does not answer. None when no quota applies."""
        if self.per_minute <= 0 or not user:
            return None
        window = int(self._clock() // WINDOW)
        name = self._name(team, user, window)
        return name, WINDOW * 2, lambda: self._count_local(name, window, 1) <= self.per_minute

    async def allow(self, team: str | None, user: str | None, cost: int = 1) -> bool:
        """Count `cost` requests of this user (a bulk update costs one per ticket it reads);
        False once they are past the quota this minute."""
        if self.per_minute <= 0 or not user:
            return True
        window = int(self._clock() // WINDOW)
        name = self._name(team, user, window)
        count = None
        if self.client is not None:
            try:
                count = await ack_budget.within(self._count_shared(name, cost))
            except (RedisError, OSError, TimeoutError):
                count = None
        if count is None:
            count = self._count_local(name, window, cost)
        return count <= self.per_minute
