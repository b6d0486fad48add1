"""The job stream: acknowledged work that changes a ticket, written before the ack.

A Redis Stream per deployment (bot/store/keys.py) with one consumer group; every bot process is
a consumer. A job is acknowledged only after its outcome reached the user; a job whose worker
died is reclaimed (XAUTOCLAIM) by another process, or by this one after a restart. Without
Redis, or while Redis is down, jobs go to an in-process queue (bounded; a crash loses it; said
at start-up). Each job runs once whichever copy is taken: leases.py.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from bot.ops.metrics import JOBS_PENDING
from bot.store import ack_budget, keys
from bot.store.cache import MemoryBackend
from bot.store.queue.job import Gate, Job, OverQuota, QueueFull
from bot.store.queue.leases import Leases, Verdict

log = logging.getLogger(__name__)

# A repeat marker already set: the entry id when this same write set it (redis-py retries a
# command whose answer was lost: the marker names the jid that set it), nil for a repeat of the
# request (another job holds the marker).
_HELD = """
local held = redis.call('GET', KEYS[1])
if held then
  local mine = ARGV[4] .. ' '
  if string.sub(held, 1, #mine) == mine then return string.sub(held, #mine + 1) end
  return false
end
"""
_WRITE = """
local id = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'j', ARGV[3])
redis.call('SET', KEYS[1], ARGV[4] .. ' ' .. id, 'PX', ARGV[1])
return id
"""
# KEYS: marker, stream; ARGV: marker ttl ms, stream maxlen, payload, jid. The entry id, or nil
# for a repeat.
_PUT_ONCE = _HELD + _WRITE
# The same behind the fast ack's gate (job.Gate). KEYS: marker, stream, replay marker, quota
# counter; ARGV: as above, then replay ttl ms, quota window s, quota limit (0: none). The entry id;
# nil for a repeat or a replay; 0 past the quota (nothing written but the replay marker, so a
# replay of the refused request is answered nothing).
_PUT_GATED = (
    _HELD
    + """
if not redis.call('SET', KEYS[3], ARGV[4], 'NX', 'PX', ARGV[5]) then return false end
local limit = tonumber(ARGV[7])
if limit > 0 then
  local count = redis.call('INCR', KEYS[4])
  if count == 1 then redis.call('EXPIRE', KEYS[4], ARGV[6]) end
  if count > limit then return 0 end
end
"""
    + _WRITE
)
GROUP = "workers"
STALE_CONNECTION_TRIES = 4
HANDED_BACK_IDLE_MS = 24 * 3600 * 1000  # a handed-back job looks abandoned to everyone at once


class JobQueue:
    """Redis Stream when configured and answering; otherwise an in-process queue."""

    def __init__(
        self,
        client: aioredis.Redis | None,
        *,
        consumer: str | None = None,
        maxlen: int = 100_000,
        memory_limit: int = 1000,
    ) -> None:
        self.client = client
        self.stream = keys.jobs_stream()
        # Jobs written under an earlier namespace (an upgrade, a namespace change): still read,
        # and run when their account is here.
        self.earlier = keys.earlier_jobs_streams()
        self._earlier_ready: set[str] = set()
        self.consumer = consumer or f"bot-{uuid.uuid4().hex[:8]}"
        self.maxlen = maxlen
        self.memory_limit = memory_limit
        self._memory: asyncio.Queue[Job] = asyncio.Queue()
        # Finished while Redis was down, as (stream, entry id): acknowledged when it is back.
        self._unacked: list[tuple[str, str]] = []
        self._group_ready = False
        self._redis_down = False
        self._seen = MemoryBackend()  # repeat markers while Redis is away
        self._put_once = client.register_script(_PUT_ONCE) if client is not None else None
        self._put_gated = client.register_script(_PUT_GATED) if client is not None else None
        self.leases = Leases(client, self.consumer)

    @property
    def durable(self) -> bool:
        return self.client is not None

    def _down(self, what: str, error: BaseException | None = None) -> None:
        if not self._redis_down:
            self._redis_down = True
            cause = f"{what}: {type(error).__name__}" if error is not None else what
            log.warning(
                "Redis unavailable for jobs (%s): new jobs are kept in this process until it answers", cause
            )

    def _up(self) -> None:
        if self._redis_down:
            self._redis_down = False
            log.warning("Redis answers again: jobs are durable again")

    async def _settle_with_redis(self) -> None:
        """Redis is back: acknowledge what finished meanwhile, and make waiting jobs durable."""
        assert self.client is not None
        await self.leases.settle()
        while self._unacked:
            stream, job_id = self._unacked[0]
            await self.client.xack(stream, GROUP, job_id)
            await self.client.xdel(stream, job_id)
            self._unacked.pop(0)
        while not self._memory.empty():
            job = self._memory.get_nowait()
            try:
                await self.client.xadd(
                    self.stream, {"j": json.dumps(job.data)}, maxlen=self.maxlen, approximate=True
                )
            except BaseException:
                self._memory.put_nowait(job)
                raise

    async def _write(self, command: Callable[[], Awaitable[Any]]) -> Any:
        """Each pooled connection from before a Redis restart fails once; while Redis was
        answering, try fresh connections a few times before keeping the job in memory. All of
        it within the ack budget: a hung Redis costs the ack the budget, not a chain of timeouts."""
        attempts = 1 if self._redis_down else STALE_CONNECTION_TRIES
        for attempt in range(1, attempts + 1):
            try:
                return await ack_budget.within(command())
            except (RedisError, OSError):
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")

    async def _ensure_group(self) -> None:
        if self._group_ready or self.client is None:
            return
        try:
            # "0": jobs written before any worker existed are delivered too.
            await self.client.xgroup_create(self.stream, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def put(
        self,
        data: dict[str, Any],
        *,
        once: str | None = None,
        once_ttl: float = 3600.0,
        gate: Gate | None = None,
    ) -> Job | None:
        """Write the job (before the ack). Never fails: falls back to memory.

        With `once`, a job with the same key within `once_ttl` seconds is dropped (a Slack
        retry, a double click): None is returned. Marker and job are written in one round trip,
        with the `gate`'s checks when one is given (it needs `once`). QueueFull when Redis is
        away and the memory queue is at its limit; OverQuota past the gate's quota.
        """
        data = {**data, "jid": uuid.uuid4().hex}
        payload = json.dumps(data, separators=(",", ":"))
        client = self.client
        if client is not None and self._put_once is not None:
            try:
                if once is None:
                    job_id = await self._write(
                        lambda: client.xadd(self.stream, {"j": payload}, maxlen=self.maxlen, approximate=True)
                    )
                else:
                    marker = keys.jobs_marker(once)
                    script = self._put_once
                    names = [marker, self.stream]
                    args: list[Any] = [int(once_ttl * 1000), self.maxlen, payload, data["jid"]]
                    if gate is not None and self._put_gated is not None:
                        script = self._put_gated
                        names += [gate.replay, gate.quota or gate.replay]
                        args += [int(gate.replay_ttl * 1000), gate.quota_window, gate.quota_limit]
                    job_id = await self._write(lambda: script(keys=names, args=args))
                    if job_id is None:
                        return None
                    if job_id == 0:
                        raise OverQuota()
            except (RedisError, OSError, TimeoutError) as exc:
                # A timeout leaves it unknown whether the write landed: the memory copy has the
                # same jid, so whichever copy runs second finds the first one's mark.
                self._down("write", exc)
            else:
                self._up()
                JOBS_PENDING.inc()
                return Job(
                    job_id.decode() if isinstance(job_id, bytes) else str(job_id), data, stream=self.stream
                )
        if self._memory.qsize() >= self.memory_limit:
            raise QueueFull(f"{self._memory.qsize()} jobs wait in this process")
        if gate is not None:
            if await self._seen.try_lock(gate.replay, gate.replay_ttl) is None:
                return None
            if gate.local_quota is not None and not gate.local_quota():
                raise OverQuota()
        if once is not None and await self._seen.try_lock(f"dedupe:{once}", once_ttl) is None:
            return None
        job = Job(f"mem-{uuid.uuid4().hex}", data, source="memory")
        JOBS_PENDING.inc()
        self._memory.put_nowait(job)
        return job

    def _jobs(self, entries: Any, deliveries: int = 1, stream: str | None = None) -> list[Job]:
        jobs = []
        for entry_id, fields in entries or []:
            raw = (fields or {}).get(b"j")
            if raw is None:
                continue
            job_id = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
            jobs.append(Job(job_id, json.loads(raw), deliveries, stream=stream or self.stream))
        return jobs

    async def take(self, count: int, block_ms: int | None) -> list[Job]:
        """New jobs for this consumer: memory first, then the stream (blocking up to block_ms)."""
        taken: list[Job] = []
        if self.client is not None and (self._unacked or self.leases.ran_offline or not self._memory.empty()):
            with contextlib.suppress(RedisError, OSError):
                await self._settle_with_redis()
        while len(taken) < count and not self._memory.empty():
            taken.append(self._memory.get_nowait())
        if self.client is None or len(taken) >= count:
            if not taken and block_ms and self.client is None:
                with contextlib.suppress(TimeoutError):
                    taken.append(await asyncio.wait_for(self._memory.get(), block_ms / 1000))
            return taken
        try:
            await self._ensure_group()
            block = None if taken or not block_ms else block_ms
            answer: Any = await self.client.xreadgroup(
                GROUP, self.consumer, {self.stream: ">"}, count=count - len(taken), block=block
            )
        except (RedisError, OSError) as exc:
            self._down("read", exc)
            if not taken and block_ms:
                await asyncio.sleep(min(1.0, block_ms / 1000))
            return taken
        self._up()
        for _, entries in answer or []:
            taken.extend(self._jobs(entries))
        return taken

    async def take_memory(self, block_ms: int) -> list[Job]:
        """Only the jobs kept in this process (written while Redis was away)."""
        try:
            first = await asyncio.wait_for(self._memory.get(), block_ms / 1000)
        except TimeoutError:
            return []
        taken = [first]
        while not self._memory.empty():
            taken.append(self._memory.get_nowait())
        return taken

    async def begin(self, job: Job, lease: float) -> Verdict:
        return await self.leases.begin(job, lease)

    async def complete(self, job: Job) -> bool:
        """Mark the job done before its outcome is told; False: another run tells (leases.py)."""
        return await self.leases.complete(job)

    async def release(self, job: Job) -> None:
        await self.leases.release(job)

    async def finish(self, job: Job) -> None:
        await self.leases.finish(job)

    async def keep_alive(self, jobs: list[Job], lease: float, *, leased: list[Job] | None = None) -> None:
        """Jobs this consumer still holds: reset their idle time (XCLAIM to itself), and renew
        the leases of those it runs (`leased`, by default all: a job waiting here has none)."""
        if self.client is None or not jobs:
            return
        with contextlib.suppress(RedisError, OSError):
            ids: list[Any] = [j.id for j in jobs if j.source == "redis" and j.stream == self.stream]
            if ids:
                await self.client.xclaim(
                    self.stream, GROUP, self.consumer, min_idle_time=0, message_ids=ids, justid=True
                )
            await self.leases.renew(jobs if leased is None else leased, lease)

    async def reclaim(self, min_idle_ms: int, count: int = 50) -> list[Job]:
        """Jobs another consumer took and did not finish within min_idle_ms (it likely died)."""
        if self.client is None:
            return []
        if self._unacked or self.leases.ran_offline:
            # Redis is back: first say what finished here meanwhile, so none of it is run again.
            with contextlib.suppress(RedisError, OSError):
                await self._settle_with_redis()
        entries: list[Any] = []
        try:
            await self._ensure_group()
            cursor: Any = "0-0"
            for _ in range(100):  # the whole pending list, a page at a time
                answer = await self.client.xautoclaim(
                    self.stream, GROUP, self.consumer, min_idle_time=min_idle_ms, start_id=cursor, count=count
                )
                entries.extend(answer[1] if answer else [])
                cursor = answer[0] if answer else b"0-0"
                if cursor in (b"0-0", "0-0") or len(entries) >= count:
                    break
            pending = await self.client.xpending_range(
                self.stream,
                GROUP,
                min="-",
                max="+",
                count=max(count, len(entries)),
                consumername=self.consumer,
            )
        except (RedisError, OSError) as exc:
            self._down("reclaim", exc)
            return []
        deliveries = {
            (p["message_id"].decode() if isinstance(p["message_id"], bytes) else str(p["message_id"])): int(
                p["times_delivered"]
            )
            for p in pending
        }
        finished = {job_id for _, job_id in self._unacked}
        jobs = [j for j in self._jobs(entries) if j.id not in finished]
        # Each keeps the stream it came from: keep_alive renews only the claims of this stream's
        # jobs, and a reclaimed job without it was taken over again every few seconds.
        return [Job(j.id, j.data, deliveries.get(j.id, 2), stream=j.stream) for j in jobs]

    async def ack(self, job: Job) -> None:
        JOBS_PENDING.dec()
        if job.source == "memory" or self.client is None:
            return
        stream = job.stream or self.stream
        try:
            await self.client.xack(stream, GROUP, job.id)
            await self.client.xdel(stream, job.id)
        except (RedisError, OSError) as exc:
            # Acknowledged when Redis is back. Should this process die first, another runs the job
            # again: the lease marks make that a no-op.
            self._down("ack", exc)
            self._unacked.append((stream, job.id))

    async def hand_back(self, jobs: list[Job]) -> None:
        """Jobs this process holds but will not run: made claimable by any other consumer now
        (their idle time set far past the takeover limit) and their leases dropped."""
        if not jobs:
            return
        if self.client is None:
            for job in jobs:
                log.error("job %s could not be handed back (no Redis); it is lost", job.id)
            return
        try:
            streamed = [job for job in jobs if job.source == "redis"]
            for stream in {job.stream or self.stream for job in streamed}:
                ids: list[Any] = [j.id for j in streamed if (j.stream or self.stream) == stream]
                await self.client.xclaim(
                    stream,
                    GROUP,
                    self.consumer,
                    min_idle_time=0,
                    message_ids=ids,
                    idle=HANDED_BACK_IDLE_MS,
                    justid=True,
                )
            for job in jobs:
                if job.source == "memory":  # kept here while Redis was away: into the stream now
                    record: dict[Any, Any] = {"j": json.dumps(job.data)}
                    await self.client.xadd(self.stream, record, maxlen=self.maxlen, approximate=True)
                await self.release(job)
        except (RedisError, OSError):
            log.warning("drain: Redis did not answer; %d jobs are taken over after the timeout", len(jobs))
        for _ in jobs:
            JOBS_PENDING.dec()

    async def legacy_jobs(self, min_idle_ms: int, count: int = 50) -> list[Job]:
        """Jobs left in the streams of earlier namespaces (after an upgrade): new ones, and those
        a worker of the old version took and never finished."""
        if self.client is None:
            return []
        jobs: list[Job] = []
        for stream in self.earlier:
            try:
                if stream not in self._earlier_ready:
                    if not await self.client.exists(stream):
                        continue
                    with contextlib.suppress(ResponseError):  # BUSYGROUP: the old version made it
                        await self.client.xgroup_create(stream, GROUP, id="0")
                    self._earlier_ready.add(stream)
                fresh: Any = await self.client.xreadgroup(GROUP, self.consumer, {stream: ">"}, count=count)
                stale: Any = await self.client.xautoclaim(
                    stream, GROUP, self.consumer, min_idle_time=min_idle_ms, start_id="0-0", count=count
                )
            except (RedisError, OSError):
                continue
            entries = [e for _, found in fresh or [] for e in found] + list(stale[1] if stale else [])
            jobs += self._jobs(entries, stream=stream)
        return jobs
