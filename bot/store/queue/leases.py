"""The lease protocol: a job runs once, whichever of its copies a worker takes.

Before running a job a worker takes a lease on its id (`SET NX` with an expiry it renews while
the job runs) and marks it done after. So a job written to memory because Redis timed out, whose
stream copy landed after all, runs once; and a reclaimed job whose first worker is alive and
slow is left to it. While Redis is away, the ids of jobs run here are kept and marked done
when it answers again (`settle`).
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from typing import Literal

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError

from bot.store import keys
from bot.store.queue.job import Job

# KEYS: lease; ARGV: consumer, lease ms. Renews a lease this consumer holds, or its telling mark.
_RENEW = """
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] or (holder and string.sub(holder, 1, 9 + #ARGV[1]) == 'telling:' .. ARGV[1] .. ':') then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# KEYS: lease; ARGV: consumer, lease ms when none is left, this call's nonce. Turns this run's
# lease into a telling mark if no other worker holds the job: 1 when this run is the one that
# tells the user, else 0. The mark names the call, so a retry of this very call (its answer
# lost) still gets 1. It is a lease, not "done": it lapses if this process dies before telling
# (then the job runs again: its PATCH replays under its key, and the user is told), and the
# worker marks the job done once the telling is over (finish).
_COMPLETE = """
local holder = redis.call('GET', KEYS[1])
local mine = 'telling:' .. ARGV[1] .. ':' .. ARGV[3]
if holder == mine then return 1 end
if holder and holder ~= ARGV[1] then return 0 end
local left = redis.call('PTTL', KEYS[1])
if left < 0 then left = tonumber(ARGV[2]) end
redis.call('SET', KEYS[1], mine, 'PX', left)
return 1
"""
DONE = b"done"  # a finished job's lease reads so
TELLING = b"telling:"  # a run that tells the user holds the job so until it is done
TELLING_MS = 5_000  # a telling mark's life when the lease had none left (renewed while alive)
DONE_TTL = 24 * 3600  # seconds a finished job's id is remembered
MEMORY_LEASE_TIMEOUT = 0.5  # seconds: a job kept in memory was kept because Redis was away
Verdict = Literal["run", "done", "busy"]


def lease_key(jid: str) -> str:
    return keys.key("job", jid)


def _timeout(job: Job) -> float | None:
    return MEMORY_LEASE_TIMEOUT if job.source == "memory" else None


class Leases:
    def __init__(self, client: aioredis.Redis | None, consumer: str) -> None:
        self.client = client
        self.consumer = consumer
        self.ran_offline: list[str] = []  # ids of jobs run while Redis was away: marked done when back
        self._renew = client.register_script(_RENEW) if client is not None else None
        self._complete = client.register_script(_COMPLETE) if client is not None else None

    async def settle(self) -> None:
        """Redis is back: mark done what ran here meanwhile."""
        assert self.client is not None
        while self.ran_offline:
            await self.client.set(lease_key(self.ran_offline[0]), DONE, ex=DONE_TTL)
            self.ran_offline.pop(0)

    async def begin(self, job: Job, lease: float) -> Verdict:
        """Take the job's lease before running it: "run", or "done" (it ran already: acknowledge
        it), or "busy" (a live worker runs it: leave it be). Jobs from before leases just run."""
        jid = job.jid
        if self.client is None or jid is None:
            return "run"
        if jid in self.ran_offline:  # run here while Redis was away; its mark is not written yet
            return "done"
        name = lease_key(jid)
        try:
            async with asyncio.timeout(_timeout(job)):
                if await self.client.set(name, self.consumer, nx=True, px=max(1, int(lease * 1000))):
                    return "run"
                holder = await self.client.get(name)
        except (RedisError, OSError, TimeoutError):
            return "run"  # Redis is away: better run than lose it; marked done once it is back
        if isinstance(holder, bytes) and holder.startswith(DONE):
            return "done"
        if holder is None or holder == self.consumer.encode():
            return "run"
        return "busy"  # another live worker runs it, or tells its outcome

    async def complete(self, job: Job) -> bool:
        """Before a job's outcome is told: claim the telling, unless another worker holds the job
        (this process was paused past its lease and the job was taken over) or finished it. Only
        the run that gets True tells the user, so nobody sees the same card twice; and since the
        claim lapses with this process, a death before the telling leaves the job to run again
        rather than marked done with its user never told."""
        jid = job.jid
        if self._complete is None or jid is None:
            return True
        try:
            async with asyncio.timeout(_timeout(job)):
                nonce = uuid.uuid4().hex
                marked = await self._complete(keys=[lease_key(jid)], args=[self.consumer, TELLING_MS, nonce])
                return bool(marked)
        except (RedisError, OSError, TimeoutError):
            self.ran_offline.append(jid)
            return True  # Redis is away: better told twice than not at all

    async def release(self, job: Job) -> None:
        """Give up the lease on a job this worker will not run."""
        jid = job.jid
        if self.client is None or jid is None:
            return
        with contextlib.suppress(RedisError, OSError):
            await self.client.delete(lease_key(jid))

    async def finish(self, job: Job) -> None:
        """Mark the job done, so no copy of it runs again."""
        jid = job.jid
        if self.client is None or jid is None:
            return
        try:
            async with asyncio.timeout(_timeout(job)):
                await self.client.set(lease_key(jid), DONE, ex=DONE_TTL)
        except (RedisError, OSError, TimeoutError):
            self.ran_offline.append(jid)

    async def renew(self, jobs: list[Job], lease: float) -> None:
        """Renew the leases this consumer holds, in one round trip (a cluster's client renews
        them one by one). Raises RedisError or OSError when Redis is away."""
        if self._renew is None or self.client is None:
            return
        args: list[str | int] = [self.consumer, max(1, int(lease * 1000))]
        names = [lease_key(job.jid) for job in jobs if job.jid is not None]
        if isinstance(self.client, RedisCluster) or len(names) < 2:
            for name in names:
                await self._renew(keys=[name], args=args)
            return
        async with self.client.pipeline(transaction=False) as pipe:
            for name in names:
                await self._renew(keys=[name], args=args, client=pipe)
            await pipe.execute()
