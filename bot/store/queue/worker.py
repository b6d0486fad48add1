"""The worker: runs jobs with bounded concurrency and fair shares, takes over abandoned ones,
and drains (hands back what it will not finish) on shutdown."""

from __future__ import annotations

import asyncio
import collections
import logging
from dataclasses import dataclass, field

from bot.ops.metrics import JOBS_PENDING
from bot.store.queue.job import MAX_DELIVERIES, Handler, Job, NotForThisWorker, RunAgainLater, ShareKey
from bot.store.queue.stream import JobQueue

log = logging.getLogger(__name__)


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

    def _runs_here(self, job: Job) -> bool:
        """Another copy of the job (the memory one of a write that timed out yet landed) runs in
        this process: its lease names this consumer too, so the lease alone cannot tell."""
        return job.jid is not None and any(other.jid == job.jid for other in self._running.values())

    async def _process(self, job: Job, share: str) -> None:
        busy_here = self._runs_here(job)
        self._running[job.id] = job
        acknowledge = True
        try:
            verdict = "busy" if busy_here else await self.queue.begin(job, self._lease)
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
                except RunAgainLater as exc:
                    log.warning("job %s handed back to run again: %s", job.id, exc)
                    acknowledge = False
                    await self.queue.hand_back([job])
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

    def _holds(self, job: Job) -> bool:
        return job.id in self._running or any(j.id == job.id for q in self._waiting.values() for j in q)

    def _spawn(self, job: Job) -> None:
        if job.deliveries > 1 and self._holds(job):
            # Reclaimed while this worker still has it (its loop was starved past the takeover
            # limit): one copy is enough.
            return
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
                running = list(self._running.values())
                held = [*running, *(j for q in self._waiting.values() for j in q)]
                await self.queue.keep_alive(held, self._lease, leased=running)
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
