"""Durable jobs: acknowledged work that changes a ticket, written before the ack.

A Redis Stream per deployment (bot/store/keys.py) with one consumer group; every bot process is a consumer.
A job is acknowledged only after its outcome reached the user; a job whose worker died is
reclaimed (XAUTOCLAIM) by another process, or by this one after a restart. Without Redis, or
while Redis is down, jobs go to an in-process queue (bounded; a crash loses it; said at start-up).

Each job carries an id of its own (`jid`). Before running one, a worker takes a lease on that
id (`SET NX` with an expiry it renews while the job runs) and marks it done after. So a job
written to memory because Redis timed out, whose stream copy landed after all, runs once; and
a reclaimed job whose first worker is alive and slow is left to it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import json
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from bot.ops.metrics import JOBS_PENDING
from bot.store import ack_budget, keys
from bot.store.cache import MemoryBackend

log = logging.getLogger(__name__)

# KEYS: marker, stream; ARGV: marker ttl ms, stream maxlen, payload. The job id, or nil for a repeat.
_PUT_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then
  return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'j', ARGV[3])
end
return false
"""
# KEYS: lease; ARGV: consumer, lease ms. Renews a lease this consumer holds.
_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
# KEYS: lease; ARGV: consumer, done ttl s. Marks the job done if no other worker holds it:
# 1 when this run is the one that finishes it (and may tell the user), else 0.
_COMPLETE = """
local holder = redis.call('GET', KEYS[1])
if holder and holder ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], 'done', 'EX', ARGV[2])
return 1
"""
GROUP = "workers"
MAX_DELIVERIES = 5
STALE_CONNECTION_TRIES = 4
DONE = b"done"
DONE_TTL = 24 * 3600  # seconds a finished job's id is remembered
HANDED_BACK_IDLE_MS = 24 * 3600 * 1000  # a handed-back job looks abandoned to everyone at once
MEMORY_LEASE_TIMEOUT = 0.5  # seconds: a job kept in memory was kept because Redis was away


class NotForThisWorker(Exception):
    """The job is another deployment's (its account is not configured here): neither run nor
    acknowledged, so a worker that has the account takes it."""


class QueueFull(Exception):
    """Redis is away and this process already keeps as many jobs as it may."""


def lease_key(jid: str) -> str:
    return keys.key("job", jid)


@dataclass(frozen=True)
class Job:
    id: str
    data: dict[str, Any]
    deliveries: int = 1
    source: str = "redis"  # or "memory"
    stream: str = ""  # the stream it came from (this deployment's, or the pre-namespace one)


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
        # Jobs written before namespaces (an upgrade): still read, and run when their account is here.
        self.legacy = keys.LEGACY_JOBS_STREAM if self.stream != keys.LEGACY_JOBS_STREAM else None
        self._legacy_ready = False
        self.consumer = consumer or f"bot-{uuid.uuid4().hex[:8]}"
        self.maxlen = maxlen
        self.memory_limit = memory_limit
        self._memory: asyncio.Queue[Job] = asyncio.Queue()
        # Finished while Redis was down, as (stream, entry id): acknowledged when it is back.
        self._unacked: list[tuple[str, str]] = []
        self._ran_offline: list[str] = []  # ids of jobs run while Redis was away: marked done when back
        self._group_ready = False
        self._redis_down = False
        self._seen = MemoryBackend()  # repeat markers while Redis is away
        self._put_once = client.register_script(_PUT_ONCE) if client is not None else None
        self._renew = client.register_script(_RENEW) if client is not None else None
        self._complete = client.register_script(_COMPLETE) if client is not None else None

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
        while self._ran_offline:
            await self.client.set(lease_key(self._ran_offline[0]), DONE, ex=DONE_TTL)
            self._ran_offline.pop(0)
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
        self, data: dict[str, Any], *, once: str | None = None, once_ttl: float = 3600.0
    ) -> Job | None:
        """Write the job (before the ack). Never fails: falls back to memory.

        With `once`, a job with the same key within `once_ttl` seconds is dropped (a Slack
        retry, a double click): None is returned. Marker and job are written in one round trip.
        QueueFull when Redis is away and the memory queue is at its limit.
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
                    job_id = await self._write(
                        lambda: script(
                            keys=[marker, self.stream], args=[int(once_ttl * 1000), self.maxlen, payload]
                        )
                    )
                    if job_id is None:
                        return None
            except (RedisError, OSError, TimeoutError):
                # A timeout leaves it unknown whether the write landed: the memory copy has the
                # same jid, so whichever copy runs second finds the first one's mark.
                self._down("write")
            else:
                self._up()
                JOBS_PENDING.inc()
                return Job(
                    job_id.decode() if isinstance(job_id, bytes) else str(job_id), data, stream=self.stream
                )
        if self._memory.qsize() >= self.memory_limit:
            raise QueueFull(f"{self._memory.qsize()} jobs wait in this process")
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
        if self.client is not None and (self._unacked or self._ran_offline or not self._memory.empty()):
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

    async def begin(self, job: Job, lease: float) -> str:
        """Take the job's lease before running it: "run", or "done" (it ran already: acknowledge
        it), or "busy" (a live worker runs it: leave it be). Jobs from before leases just run."""
        jid = job.data.get("jid")
        if self.client is None or not isinstance(jid, str):
            return "run"
        if jid in self._ran_offline:  # run here while Redis was away; its mark is not written yet
            return "done"
        name = lease_key(jid)
        try:
            async with asyncio.timeout(MEMORY_LEASE_TIMEOUT if job.source == "memory" else None):
                if await self.client.set(name, self.consumer, nx=True, px=max(1, int(lease * 1000))):
                    return "run"
                holder = await self.client.get(name)
        except (RedisError, OSError, TimeoutError):
            return "run"  # Redis is away: better run than lose it; marked done once it is back
        if holder == DONE:
            return "done"
        if holder is None or holder == self.consumer.encode():
            return "run"
        return "busy"

    async def complete(self, job: Job) -> bool:
        """Before a job's outcome is told: mark it done, unless another worker holds it (this
        process was paused past its lease and the job was taken over) or finished it. Only the
        run that gets True tells the user, so nobody sees the same card twice."""
        jid = job.data.get("jid")
        if self._complete is None or not isinstance(jid, str):
            return True
        try:
            async with asyncio.timeout(MEMORY_LEASE_TIMEOUT if job.source == "memory" else None):
                return bool(await self._complete(keys=[lease_key(jid)], args=[self.consumer, DONE_TTL]))
        except (RedisError, OSError, TimeoutError):
            self._ran_offline.append(jid)
            return True  # Redis is away: better told twice than not at all

    async def release(self, job: Job) -> None:
        """Give up the lease on a job this worker will not run."""
        jid = job.data.get("jid")
        if self.client is None or not isinstance(jid, str):
            return
        with contextlib.suppress(RedisError, OSError):
            await self.client.delete(lease_key(jid))

    async def finish(self, job: Job) -> None:
        """Mark the job done, so no copy of it runs again."""
        jid = job.data.get("jid")
        if self.client is None or not isinstance(jid, str):
            return
        try:
            async with asyncio.timeout(MEMORY_LEASE_TIMEOUT if job.source == "memory" else None):
                await self.client.set(lease_key(jid), DONE, ex=DONE_TTL)
        except (RedisError, OSError, TimeoutError):
            self._ran_offline.append(jid)

    async def keep_alive(self, jobs: list[Job], lease: float) -> None:
        """Jobs this consumer still runs: reset their idle time (XCLAIM to itself) and renew
        their leases."""
        if self.client is None or self._renew is None or not jobs:
            return
        with contextlib.suppress(RedisError, OSError):
            ids: list[Any] = [j.id for j in jobs if j.source == "redis" and j.stream == self.stream]
            if ids:
                await self.client.xclaim(
                    self.stream, GROUP, self.consumer, min_idle_time=0, message_ids=ids, justid=True
                )
            for job in jobs:
                jid = job.data.get("jid")
                if isinstance(jid, str):
                    await self._renew(keys=[lease_key(jid)], args=[self.consumer, max(1, int(lease * 1000))])

    async def reclaim(self, min_idle_ms: int, count: int = 50) -> list[Job]:
        """Jobs another consumer took and did not finish within min_idle_ms (it likely died)."""
        if self.client is None:
            return []
        if self._unacked or self._ran_offline:
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
        except (RedisError, OSError):
            self._down("reclaim")
            return []
        deliveries = {
            (p["message_id"].decode() if isinstance(p["message_id"], bytes) else str(p["message_id"])): int(
                p["times_delivered"]
            )
            for p in pending
        }
        finished = {job_id for _, job_id in self._unacked}
        jobs = [j for j in self._jobs(entries) if j.id not in finished]
        return [Job(j.id, j.data, deliveries.get(j.id, 2)) for j in jobs]

    async def ack(self, job: Job) -> None:
        JOBS_PENDING.dec()
        if job.source == "memory" or self.client is None:
            return
        stream = job.stream or self.stream
        try:
            await self.client.xack(stream, GROUP, job.id)
            await self.client.xdel(stream, job.id)
        except (RedisError, OSError):
            # Acknowledged when Redis is back. Should this process die first, another runs the job
            # again: the lease marks make that a no-op.
            self._down("ack")
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
        """Jobs left in the stream of versions before namespaces (after an upgrade): new ones,
        and those a worker of the old version took and never finished."""
        if self.client is None or self.legacy is None:
            return []
        try:
            if not self._legacy_ready:
                if not await self.client.exists(self.legacy):
                    return []
                with contextlib.suppress(ResponseError):  # BUSYGROUP: the old version made it
                    await self.client.xgroup_create(self.legacy, GROUP, id="0")
                self._legacy_ready = True
            fresh: Any = await self.client.xreadgroup(GROUP, self.consumer, {self.legacy: ">"}, count=count)
            stale: Any = await self.client.xautoclaim(
                self.legacy, GROUP, self.consumer, min_idle_time=min_idle_ms, start_id="0-0", count=count
            )
        except (RedisError, OSError):
            return []
        entries = [e for _, found in fresh or [] for e in found] + list(stale[1] if stale else [])
        return self._jobs(entries, stream=self.legacy)


Handler = Callable[[Job], Awaitable[None]]
ShareKey = Callable[[Job], str]


def _no_share(job: Job) -> str:
    return ""


@dataclass
class Worker:
    """Runs jobs with bounded concurrency; acknowledges each after its handler returned.

    Fair between accounts: jobs of one account (`share_key`) hold at most `share` of the
    slots, so a flood for one account, each job waiting for that account's API budget, cannot
    keep another account's jobs waiting. Jobs past an account's share wait here, claimed by
    this worker and kept alive like running ones, up to `backlog_limit` in all.
    """

    queue: JobQueue
    handle: Handler
    concurrency: int = 8
    reclaim_idle: float = 60.0
    block_ms: int = 500
    memory_only: bool = False  # the HTTP process beside worker processes: only jobs it kept itself
    dropped: Handler | None = None  # told of a job given up after MAX_DELIVERIES
    share_key: ShareKey = _no_share
    share: float = 0.5  # of the slots, for one account
    backlog_limit: int = 1000
    _tasks: set[asyncio.Task[None]] = field(default_factory=set, init=False)
    _running: dict[str, Job] = field(default_factory=dict, init=False)
    _waiting: dict[str, collections.deque[Job]] = field(default_factory=dict, init=False)
    _per_share: collections.Counter[str] = field(default_factory=collections.Counter, init=False)
    _stopping: bool = field(default=False, init=False)

    @property
    def _lease(self) -> float:
        """A lease ends a little before the job may be taken over, so a taker finds it free."""
        return self.reclaim_idle * 0.75

    @property
    def _heartbeat(self) -> float:
        """How often claims are renewed and abandoned jobs looked for."""
        return min(1.0, self.reclaim_idle / 4)

    @property
    def _share_slots(self) -> int:
        return max(1, int(self.concurrency * self.share))

    @property
    def _waiting_count(self) -> int:
        return sum(len(q) for q in self._waiting.values())

    async def _process(self, job: Job, share: str) -> None:
        self._running[job.id] = job
        acknowledge = True
        try:
            verdict = await self.queue.begin(job, self._lease)
            if verdict == "done":
                log.info("job %s ran already; acknowledged", job.id)
            elif verdict == "busy":
                log.info("job %s is being run by a live worker; left to it", job.id)
                acknowledge = False
            elif job.deliveries > MAX_DELIVERIES:
                # Each delivery ended without an acknowledgement (a process died running it):
                # running it again could take the next worker down too.
                log.error("job %s failed %d times; dropped", job.id, job.deliveries)
                if self.dropped is not None:
                    await self.dropped(job)
                await self.queue.finish(job)
            else:
                try:
                    await self.handle(job)
                except asyncio.CancelledError:
                    acknowledge = False  # stopped mid-job (a drain past its grace): handed back
                    raise
                except NotForThisWorker as exc:
                    log.info("job %s left for another deployment: %s", job.id, exc)
                    acknowledge = False
                    await self.queue.release(job)
                else:
                    await self.queue.finish(job)
        except Exception:
            log.exception("job %s failed unexpectedly; dropped", job.id)
        finally:
            self._running.pop(job.id, None)
            self._per_share[share] -= 1
            if acknowledge:
                await self.queue.ack(job)
            else:
                JOBS_PENDING.dec()
            if not self._stopping:
                self._dispatch()

    def _start(self, job: Job, share: str) -> None:
        self._per_share[share] += 1
        task = asyncio.get_running_loop().create_task(self._process(job, share))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _dispatch(self) -> None:
        """Start waiting jobs, round robin over accounts, within each account's share."""
        if self._stopping:
            return
        started = True
        while started and len(self._tasks) < self.concurrency:
            started = False
            for share in list(self._waiting):
                waiting = self._waiting[share]
                if len(self._tasks) >= self.concurrency:
                    return
                if waiting and self._per_share[share] < self._share_slots:
                    self._start(waiting.popleft(), share)
                    started = True
                if not waiting:
                    del self._waiting[share]

    def _spawn(self, job: Job) -> None:
        try:
            share = self.share_key(job)
        except Exception:
            share = ""
        self._waiting.setdefault(share, collections.deque()).append(job)
        self._dispatch()

    async def run(self) -> None:
        """Until stop(): take new jobs, and now and then reclaim abandoned ones."""
        loop = asyncio.get_running_loop()
        next_reclaim = loop.time()
        while not self._stopping:
            if self.memory_only:
                kept = await self.queue.take_memory(self.block_ms)
                if self._stopping:
                    await self.queue.hand_back(kept)
                    break
                for job in kept:
                    self._spawn(job)
                continue
            if loop.time() >= next_reclaim:
                # Jobs held here are claimed afresh, so nobody takes them for abandoned.
                held = [*self._running.values(), *(j for q in self._waiting.values() for j in q)]
                await self.queue.keep_alive(held, self._lease)
                found = await self.queue.reclaim(int(self.reclaim_idle * 1000))
                found += await self.queue.legacy_jobs(int(self.reclaim_idle * 1000))
                if self._stopping:  # a drain began meanwhile: these go straight back
                    await self.queue.hand_back(found)
                    break
                for job in found:
                    log.warning("took over job %s (delivery %d)", job.id, job.deliveries)
                    self._spawn(job)
                # Often: handed-back jobs are taken at once, and claims renewed well before they lapse.
                next_reclaim = loop.time() + self._heartbeat
            # Read while a slot is free: jobs past their account's share wait here (up to the
            # backlog limit), so another account's job behind them in the stream starts at once.
            free = self.concurrency - len(self._tasks)
            room = self.backlog_limit - self._waiting_count
            if free <= 0 or room <= 0:
                if self._tasks:
                    await asyncio.wait(set(self._tasks), timeout=1.0, return_when=asyncio.FIRST_COMPLETED)
                else:
                    await asyncio.sleep(self.block_ms / 1000)
                continue
            taken = await self.queue.take(min(free, room), self.block_ms)
            if self._stopping:  # a drain began while this read was waiting
                await self.queue.hand_back(taken)
                break
            for job in taken:
                self._spawn(job)

    async def drain(self) -> int:
        """Run every job waiting now (and those they lead to), then return how many ran."""
        ran = 0
        while True:
            jobs = await self.queue.take(self.concurrency, None)
            jobs += await self.queue.reclaim(int(self.reclaim_idle * 1000))
            jobs += await self.queue.legacy_jobs(int(self.reclaim_idle * 1000))
            if not jobs and not self._tasks and not self._waiting_count:
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

    async def shutdown(self, grace: float) -> None:
        """A graceful drain: take nothing new, hand the jobs not started back to the group at once
        (another process runs them without waiting for the takeover timeout), give running jobs
        `grace` seconds to finish, then stop them and hand them back too."""
        self._stopping = True
        waiting = [job for queue in self._waiting.values() for job in queue]
        self._waiting.clear()
        await self.queue.hand_back(waiting)
        loop = asyncio.get_running_loop()
        until = loop.time() + grace
        unfinished = set(self._tasks)
        while unfinished and loop.time() < until:
            # The run loop has stopped: keep renewing the claims of the jobs still running here,
            # or another process would take them over and run them a second time.
            await self.queue.keep_alive(list(self._running.values()), self._lease)
            step = min(self._heartbeat, until - loop.time())
            _, unfinished = await asyncio.wait(unfinished, timeout=max(0.0, step))
        if unfinished:
            running = list(self._running.values())
            log.warning("drain: %d jobs did not finish within %.0f s; handed back", len(running), grace)
            for task in unfinished:
                task.cancel()
            await asyncio.gather(*unfinished, return_exceptions=True)
            await self.queue.hand_back(running)
