"""The job queue's parts, one at a time, against a real Redis: the stream (put once, take, ack,
reclaim, hand back, the memory fallback), the lease protocol (run/done/busy, complete once) and
the worker (each job once, fair shares). Fast: no process is started, nothing waits long."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis

from bot.store import keys
from bot.store.queue import (
    DONE,
    GROUP,
    Job,
    JobQueue,
    NotForThisWorker,
    QueueFull,
    RunAgainLater,
    Worker,
    lease_key,
)


@pytest.fixture
async def client(clean_redis: str) -> AsyncIterator[aioredis.Redis]:
    redis = aioredis.from_url(clean_redis)
    yield redis
    await redis.aclose()


async def test_a_job_is_put_once_per_key_and_read_back_with_its_own_id(client: aioredis.Redis) -> None:
    queue = JobQueue(client, consumer="a")
    first = await queue.put({"n": 1}, once="req-1")
    again = await queue.put({"n": 1}, once="req-1")
    assert first is not None and again is None
    assert first.source == "redis" and first.stream == keys.jobs_stream()
    taken = await queue.take(10, None)
    assert [(j.id, j.data["n"]) for j in taken] == [(first.id, 1)]
    assert taken[0].jid == first.data["jid"] and len(first.data["jid"]) == 32
    assert await client.xlen(keys.jobs_stream()) == 1


async def test_ack_removes_the_entry_and_nothing_is_delivered_twice(client: aioredis.Redis) -> None:
    queue = JobQueue(client, consumer="a")
    await queue.put({"n": 1})
    [job] = await queue.take(10, None)
    await queue.ack(job)
    assert await client.xlen(keys.jobs_stream()) == 0
    assert await queue.take(10, None) == []
    assert await queue.reclaim(0) == []


async def test_an_unacknowledged_job_is_reclaimed_by_another_consumer_as_a_second_delivery(
    client: aioredis.Redis,
) -> None:
    dead, alive = JobQueue(client, consumer="dead"), JobQueue(client, consumer="alive")
    await dead.put({"n": 7})
    [job] = await dead.take(1, None)
    await asyncio.sleep(0.02)
    [again] = await alive.reclaim(10)
    assert (again.id, again.data["n"], again.deliveries) == (job.id, 7, 2)
    pending = await client.xpending_range(keys.jobs_stream(), GROUP, min="-", max="+", count=10)
    assert [p["consumer"] for p in pending] == [b"alive"]


async def test_handed_back_jobs_are_claimable_at_once_and_their_leases_dropped(
    client: aioredis.Redis,
) -> None:
    leaving, staying = JobQueue(client, consumer="leaving"), JobQueue(client, consumer="staying")
    await leaving.put({"n": 1})
    [job] = await leaving.take(1, None)
    assert await leaving.begin(job, lease=30.0) == "run"
    await leaving.hand_back([job])
    assert await client.get(lease_key(str(job.jid))) is None
    # The takeover limit is a minute, yet the handed-back job is taken now.
    [taken] = await staying.reclaim(60_000)
    assert taken.id == job.id
    assert await staying.begin(taken, lease=30.0) == "run"


async def test_lease_verdicts_run_busy_done(client: aioredis.Redis) -> None:
    a, b = JobQueue(client, consumer="a"), JobQueue(client, consumer="b")
    job = await a.put({"n": 1})
    assert job is not None
    assert await a.begin(job, lease=5.0) == "run"
    assert await a.begin(job, lease=5.0) == "run"  # its own lease again (a redelivery to itself)
    assert await b.begin(job, lease=5.0) == "busy"
    assert await b.complete(job) is False  # b does not hold it: b must not tell the user
    assert await a.complete(job) is True
    assert await b.begin(job, lease=5.0) == "busy"  # a is telling the user
    await a.finish(job)
    held = await client.get(lease_key(str(job.jid)))
    assert held is not None and held.startswith(DONE)
    assert await b.begin(job, lease=5.0) == "done"


async def test_a_run_that_dies_before_telling_leaves_the_job_to_run_again(client: aioredis.Redis) -> None:
    """Its claim to tell lapses with its lease: the job is taken over and its user told, never
    marked done with nobody told (a SIGKILL between the claim and the card)."""
    dead, taker = JobQueue(client, consumer="dead"), JobQueue(client, consumer="taker")
    job = await dead.put({"n": 1})
    assert job is not None
    assert await dead.begin(job, lease=0.3) == "run"
    assert await dead.complete(job) is True  # about to tell: then killed
    assert await taker.begin(job, lease=5.0) == "busy"  # a live teller is left to it
    await asyncio.sleep(0.4)
    assert await taker.begin(job, lease=5.0) == "run"
    assert await taker.complete(job) is True  # this run tells the user


async def test_an_expired_lease_can_be_taken_and_the_late_first_run_says_nothing(
    client: aioredis.Redis,
) -> None:
    paused, taker = JobQueue(client, consumer="paused"), JobQueue(client, consumer="taker")
    job = await paused.put({"n": 1})
    assert job is not None
    assert await paused.begin(job, lease=0.05) == "run"
    await asyncio.sleep(0.1)
    assert await taker.begin(job, lease=5.0) == "run"
    assert await paused.complete(job) is False
    assert await taker.complete(job) is True


async def test_jobs_from_before_leases_just_run(client: aioredis.Redis) -> None:
    queue = JobQueue(client, consumer="a")
    old = Job("1-0", {"n": 1})  # no jid: written by a version before leases
    assert old.jid is None
    assert await queue.begin(old, lease=5.0) == "run"
    assert await queue.complete(old) is True


async def test_without_redis_jobs_wait_in_memory_up_to_the_limit() -> None:
    queue = JobQueue(None, memory_limit=2)
    first = await queue.put({"n": 1}, once="k")
    assert first is not None and first.source == "memory" and first.id.startswith("mem-")
    assert await queue.put({"n": 1}, once="k") is None  # a repeat, also in memory
    await queue.put({"n": 2})
    with pytest.raises(QueueFull):
        await queue.put({"n": 3})
    assert [j.data["n"] for j in await queue.take(10, None)] == [1, 2]
    assert await queue.begin(first, lease=1.0) == "run"


async def test_the_worker_runs_each_job_once_and_acknowledges_it(client: aioredis.Redis) -> None:
    ran: list[int] = []

    async def handle(job: Job) -> None:
        ran.append(job.data["n"])

    worker = Worker(JobQueue(client, consumer="w"), handle, block_ms=20)
    for n in range(5):
        await worker.queue.put({"n": n})
    assert await worker.drain() == 5
    assert sorted(ran) == [0, 1, 2, 3, 4]
    assert await client.xlen(keys.jobs_stream()) == 0
    assert await worker.drain() == 0  # nothing runs again


async def test_a_job_for_another_deployment_is_neither_run_nor_acknowledged(client: aioredis.Redis) -> None:
    async def not_mine(job: Job) -> None:
        raise NotForThisWorker("account jira is not configured here")

    worker = Worker(JobQueue(client, consumer="w"), not_mine, block_ms=20)
    job = await worker.queue.put({"n": 1})
    assert job is not None
    await worker.drain()
    assert await client.xlen(keys.jobs_stream()) == 1  # left for a worker that has the account
    assert await client.get(lease_key(str(job.jid))) is None  # and its lease released


async def test_one_account_holds_at_most_its_share_of_the_slots(client: aioredis.Redis) -> None:
    release = asyncio.Event()
    running: list[str] = []

    async def handle(job: Job) -> None:
        running.append(job.data["account"])
        await release.wait()

    worker = Worker(
        JobQueue(client, consumer="w"),
        handle,
        concurrency=4,
        share=0.5,
        block_ms=20,
        share_key=lambda job: str(job.data["account"]),
    )
    for _ in range(6):
        await worker.queue.put({"account": "jira"})
    await worker.queue.put({"account": "linear"})
    task = asyncio.create_task(worker.run())
    for _ in range(100):
        if "linear" in running:
            break
        await asyncio.sleep(0.02)
    # Two of four slots for jira's flood; linear's job, behind it in the stream, starts at once.
    assert running.count("jira") == 2 and running.count("linear") == 1
    release.set()
    await worker.stop()
    task.cancel()


async def test_a_job_taken_over_and_still_running_is_kept_alive_not_taken_again(
    client: aioredis.Redis,
) -> None:
    """A job reclaimed from a dead worker and running longer than the takeover limit: its new
    worker keeps renewing its claim, so nobody takes it over a second time (the soak saw such
    jobs taken over again every few seconds, and told their outcome more than once)."""
    dead = JobQueue(client, consumer="dead")
    await dead.put({"n": 1})
    await dead.take(1, None)  # taken, then its worker died
    await asyncio.sleep(0.45)
    runs: list[str] = []

    def slow(name: str):  # type: ignore[no-untyped-def]
        async def handle(job: Job) -> None:
            runs.append(name)
            await asyncio.sleep(1.6)  # four times the takeover limit

        return handle

    first = Worker(JobQueue(client, consumer="first"), slow("first"), reclaim_idle=0.4, block_ms=20)
    task = asyncio.create_task(first.run())
    for _ in range(100):
        if runs:
            break
        await asyncio.sleep(0.01)
    other = Worker(JobQueue(client, consumer="other"), slow("other"), reclaim_idle=0.4, block_ms=20)
    watcher = asyncio.create_task(other.run())
    owners: set[bytes] = set()
    deliveries: set[int] = set()
    for _ in range(15):  # while the first runs it
        await asyncio.sleep(0.1)
        for entry in await client.xpending_range(keys.jobs_stream(), GROUP, min="-", max="+", count=10):
            owners.add(entry["consumer"])
            deliveries.add(int(entry["times_delivered"]))
    await asyncio.sleep(0.4)
    await first.stop()
    await other.stop()
    task.cancel()
    watcher.cancel()
    assert runs == ["first"]
    assert owners == {b"first"} and deliveries == {2}  # never taken over again
    pending = await client.xpending_range(keys.jobs_stream(), GROUP, min="-", max="+", count=10)
    assert [p["consumer"] for p in pending] == []  # finished and acknowledged, by the first


async def test_a_job_that_could_not_end_is_handed_back_and_run_again(client: aioredis.Redis) -> None:
    runs: list[int] = []

    async def busy_once(job: Job) -> None:
        runs.append(job.deliveries)
        if len(runs) == 1:
            raise RunAgainLater("batch b1 stayed locked")

    worker = Worker(JobQueue(client, consumer="w"), busy_once, block_ms=20)
    await worker.queue.put({"n": 1})
    await worker.drain()
    assert runs == [1, 2]  # taken again at once, as a second delivery, and then acknowledged
    assert await client.xlen(keys.jobs_stream()) == 0


async def test_leases_are_renewed_together_and_only_those_held(client: aioredis.Redis) -> None:
    mine, other = JobQueue(client, consumer="mine"), JobQueue(client, consumer="other")
    jobs = [job for job in [await mine.put({"n": n}) for n in range(3)] if job is not None]
    theirs = await other.put({"n": 9})
    assert len(jobs) == 3 and theirs is not None
    await mine.take(10, None)  # delivered here (the consumer group exists)
    for job in jobs:
        assert await mine.begin(job, lease=0.5) == "run"
    assert await other.begin(theirs, lease=0.5) == "run"
    await mine.keep_alive([*jobs, theirs], lease=30.0, leased=[*jobs, theirs])
    for job in jobs:
        assert await client.pttl(lease_key(str(job.jid))) > 20_000  # renewed, in one pipeline
    assert await client.pttl(lease_key(str(theirs.jid))) <= 500  # another consumer's: left alone
