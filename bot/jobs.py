"""Durable jobs: acknowledged work that changes a ticket, written before the ack.

Redis Stream `ticketbot:v1:jobs` with one consumer group; every bot process is a consumer.
A job is acknowledged only after its outcome reached the user; a job whose worker died is
reclaimed (XAUTOCLAIM) by another process, or by this one after a restart. Without Redis, or
while Redis is down, jobs go to an in-process queue (which a crash loses; said at start-up).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from bot.cache import MemoryBackend
from bot.metrics import JOBS_PENDING

log = logging.getLogger(__name__)

STREAM = "ticketbot:v1:jobs"
# KEYS: marker, stream; ARGV: marker ttl ms, stream maxlen, payload. The job id, or nil for a repeat.
_PUT_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
  return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'j', ARGV[3])
end
return false
"""
GROUP = "workers"
MAX_DELIVERIES = 5
STALE_CONNECTION_TRIES = 4


@dataclass(frozen=True)
class Job:
    id: str
    data: dict[str, Any]
    deliveries: int = 1
    source: str = "redis"  # or "memory"


class JobQueue:
    """Redis Stream when configured and answering; otherwise an in-process queue."""

    def __init__(
        self, client: aioredis.Redis | None, *, consumer: str | None = None, maxlen: int = 100_000
    ) -> None:
        self.client = client
        self.consumer = consumer or f"bot-{uuid.uuid4().hex[:8]}"
        self.maxlen = maxlen
        self._memory: asyncio.Queue[Job] = asyncio.Queue()
        self._unacked: list[str] = []  # finished while Redis was down: acknowledged when it is back
        self._group_ready = False
        self._redis_down = False
        self._seen = MemoryBackend()  # repeat markers while Redis is away
        self._put_once = client.register_script(_PUT_ONCE) if client is not None else None

    @property
    def durable(self) -> bool:
        return self.client is not None

    def _down(self, what: str) -> None:
        if not self._redis_down:
            self._redis_down = True
            log.warning(
                "Redis unavailable for jobs (%s): new jobs are kept in this process until it answers", what
            )

    def _up(self) -> None:
        if self._redis_down:
            self._redis_down = False
            log.warning("Redis answers again: jobs are durable again")

    async def _settle_with_redis(self) -> None:
        """Redis is back: acknowledge what finished meanwhile, and make waiting jobs durable."""
        assert self.client is not None
        while self._unacked:
            job_id = self._unacked[0]
            await self.client.xack(STREAM, GROUP, job_id)
            await self.client.xdel(STREAM, job_id)
            self._unacked.pop(0)
        while not self._memory.empty():
            job = self._memory.get_nowait()
            try:
                await self.client.xadd(
                    STREAM, {"j": json.dumps(job.data)}, maxlen=self.maxlen, approximate=True
                )
            except BaseException:
                self._memory.put_nowait(job)
                raise

    async def _write(self, command: Callable[[], Awaitable[Any]]) -> Any:
        """Each pooled connection from before a Redis restart fails once; while Redis was
        answering, try fresh connections a few times before keeping the job in memory."""
        attempts = 1 if self._redis_down else STALE_CONNECTION_TRIES
        for attempt in range(1, attempts + 1):
            try:
                return await command()
            except (RedisError, OSError):
                if attempt == attempts:
                    raise
        raise AssertionError("unreachable")

    async def _ensure_group(self) -> None:
        if self._group_ready or self.client is None:
            return
        try:
            # "0": jobs written before any worker existed are delivered too.
            await self.client.xgroup_create(STREAM, GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    async def put(
        self, data: dict[str, Any], *, once: str | None = None, once_ttl: float = 3600.0
    ) -> Job | None:
        """Write the job (before the ack). Never fails: falls back to memory.

        With `once`, a job with the same key within `once_ttl` seconds is dropped (a Slack
        retry, a double click): None is returned. Marker and job are written in one round trip.
        """
        payload = json.dumps(data, separators=(",", ":"))
        if self.client is not None and self._put_once is not None:
            try:
                if once is None:
                    job_id = await self._write(
                        lambda: self.client.xadd(STREAM, {"j": payload}, maxlen=self.maxlen, approximate=True)  # type: ignore[union-attr]
                    )
                else:
                    marker = f"ticketbot:v1:dedupe:{once}"
                    script = self._put_once
                    job_id = await self._write(
                        lambda: script(
                            keys=[marker, STREAM], args=[int(once_ttl * 1000), self.maxlen, payload]
                        )
                    )
                    if job_id is None:
                        return None
            except (RedisError, OSError):
                self._down("write")
            else:
                self._up()
                JOBS_PENDING.inc()
                return Job(job_id.decode() if isinstance(job_id, bytes) else str(job_id), data)
        if once is not None and await self._seen.try_lock(f"dedupe:{once}", once_ttl) is None:
            return None
        job = Job(f"mem-{uuid.uuid4().hex}", data, source="memory")
        JOBS_PENDING.inc()
        self._memory.put_nowait(job)
        return job

    @staticmethod
    def _jobs(entries: Any, deliveries: int = 1) -> list[Job]:
        jobs = []
        for entry_id, fields in entries or []:
            raw = (fields or {}).get(b"j")
            if raw is None:
                continue
            job_id = entry_id.decode() if isinstance(entry_id, bytes) else str(entry_id)
            jobs.append(Job(job_id, json.loads(raw), deliveries))
        return jobs

    async def take(self, count: int, block_ms: int | None) -> list[Job]:
        """New jobs for this consumer: memory first, then the stream (blocking up to block_ms)."""
        taken: list[Job] = []
        if self.client is not None and (self._unacked or not self._memory.empty()):
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
                GROUP, self.consumer, {STREAM: ">"}, count=count - len(taken), block=block
            )
        except (RedisError, OSError):
            self._down("read")
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

    async def keep_alive(self, job_ids: list[str]) -> None:
        """Reset the idle time of jobs this consumer is still running (XCLAIM to itself)."""
        if self.client is None or not job_ids:
            return
        with contextlib.suppress(RedisError, OSError):
            ids: list[Any] = list(job_ids)
            await self.client.xclaim(
                STREAM, GROUP, self.consumer, min_idle_time=0, message_ids=ids, justid=True
            )

    async def reclaim(self, min_idle_ms: int, count: int = 50) -> list[Job]:
        """Jobs another consumer took and did not finish within min_idle_ms (it likely died)."""
        if self.client is None:
            return []
        entries: list[Any] = []
        try:
            await self._ensure_group()
            cursor: Any = "0-0"
            for _ in range(100):  # the whole pending list, a page at a time
                answer = await self.client.xautoclaim(
                    STREAM, GROUP, self.consumer, min_idle_time=min_idle_ms, start_id=cursor, count=count
                )
                entries.extend(answer[1] if answer else [])
                cursor = answer[0] if answer else b"0-0"
                if cursor in (b"0-0", "0-0") or len(entries) >= count:
                    break
            pending = await self.client.xpending_range(
                STREAM, GROUP, min="-", max="+", count=max(count, len(entries)), consumername=self.consumer
            )
        except (RedisError, OSError):
            self._down("reclaim")
            return []
        deliveries = {
            (p["message_id"].decode() if isinstance(p["message_id"], bytes) else str(p["message_id"])): int(
                p["times_delivered"]
            )
            for p in pending
        }
        finished = set(self._unacked)
        jobs = [j for j in self._jobs(entries) if j.id not in finished]
        return [Job(j.id, j.data, deliveries.get(j.id, 2)) for j in jobs]

    async def ack(self, job: Job) -> None:
        JOBS_PENDING.dec()
        if job.source == "memory" or self.client is None:
            return
        try:
            await self.client.xack(STREAM, GROUP, job.id)
            await self.client.xdel(STREAM, job.id)
        except (RedisError, OSError):
            # Acknowledged when Redis is back. Should this process die first, another runs the job
            # again: the Idempotency-Key makes that harmless (the user may see the card twice).
            self._down("ack")
            self._unacked.append(job.id)


Handler = Callable[[Job], Awaitable[None]]


@dataclass
class Worker:
    """Runs jobs with bounded concurrency; acknowledges each after its handler returned."""

    queue: JobQueue
    handle: Handler
    concurrency: int = 8
    reclaim_idle: float = 60.0
    block_ms: int = 500
    memory_only: bool = False  # the HTTP process beside worker processes: only jobs it kept itself
    dropped: Handler | None = None  # told of a job given up after MAX_DELIVERIES
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _running: dict[str, Job] = field(default_factory=dict)
    _stopping: bool = False

    async def _process(self, job: Job) -> None:
        self._running[job.id] = job
        try:
            if job.deliveries > MAX_DELIVERIES:
                # Each delivery ended without an acknowledgement (a process died running it):
                # running it again could take the next worker down too.
                log.error("job %s failed %d times; dropped", job.id, job.deliveries)
                if self.dropped is not None:
                    await self.dropped(job)
            else:
                await self.handle(job)
        except Exception:
            log.exception("job %s failed unexpectedly; dropped", job.id)
        finally:
            self._running.pop(job.id, None)
            await self.queue.ack(job)

    def _spawn(self, job: Job) -> None:
        task = asyncio.get_running_loop().create_task(self._process(job))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def run(self) -> None:
        """Until stop(): take new jobs, and now and then reclaim abandoned ones."""
        loop = asyncio.get_running_loop()
        next_reclaim = loop.time()
        while not self._stopping:
            if self.memory_only:
                for job in await self.queue.take_memory(self.block_ms):
                    self._spawn(job)
                continue
            if loop.time() >= next_reclaim:
                # Jobs still running here are claimed afresh, so nobody takes them for abandoned.
                await self.queue.keep_alive([j.id for j in self._running.values() if j.source == "redis"])
                for job in await self.queue.reclaim(int(self.reclaim_idle * 1000)):
                    log.warning("reclaimed job %s (delivery %d)", job.id, job.deliveries)
                    self._spawn(job)
                next_reclaim = loop.time() + max(1.0, self.reclaim_idle / 4)
            free = self.concurrency - len(self._tasks)
            if free <= 0:
                await asyncio.wait(set(self._tasks), timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
                continue
            for job in await self.queue.take(free, self.block_ms):
                self._spawn(job)

    async def drain(self) -> int:
        """Run every job waiting now (and those they lead to), then return how many ran."""
        ran = 0
        while True:
            jobs = await self.queue.take(self.concurrency, None)
            jobs += await self.queue.reclaim(int(self.reclaim_idle * 1000))
            if not jobs and not self._tasks:
                return ran
            for job in jobs:
                self._spawn(job)
                ran += 1
            if self._tasks:
                await asyncio.gather(*list(self._tasks), return_exceptions=True)

    async def stop(self) -> None:
        self._stopping = True
        if self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
