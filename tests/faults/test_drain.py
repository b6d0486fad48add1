"""The drain, in-process against a real Redis: a job still running during a drain keeps its
claim (nobody runs it a second time), and jobs not started are taken by another worker at once."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest
import redis.asyncio as aioredis

from bot.store.queue import Job, JobQueue, Worker
from tests.redis_server import RedisProcess

pytestmark = pytest.mark.slow


async def test_a_job_running_through_a_drain_is_not_run_twice(clean_redis: str) -> None:
    client = aioredis.from_url(clean_redis)
    ran: list[str] = []

    async def slow(job: Job) -> None:
        ran.append(f"{job.data['n']}@{job.data.get('who', '?')}")
        await asyncio.sleep(1.2)  # four times the lease

    draining = Worker(JobQueue(client, consumer="a"), slow, reclaim_idle=0.4, block_ms=50)
    other = Worker(JobQueue(client, consumer="b"), slow, reclaim_idle=0.4, block_ms=50)
    await draining.queue.put({"n": 1})
    running = asyncio.create_task(draining.run())
    for _ in range(200):
        if ran:
            break
        await asyncio.sleep(0.02)
    shutdown = asyncio.create_task(draining.shutdown(grace=5.0))
    watcher = asyncio.create_task(other.run())
    await shutdown
    await asyncio.sleep(0.8)  # long past the lease: the other worker looks again and again
    await other.stop()
    watcher.cancel()
    running.cancel()
    assert len(ran) == 1
    await client.aclose()


async def test_jobs_not_started_are_handed_over_at_once(clean_redis: str) -> None:
    client = aioredis.from_url(clean_redis)
    started: dict[str, list[int]] = {"a": [], "b": []}
    release = asyncio.Event()

    def handler(name: str):  # type: ignore[no-untyped-def]
        async def handle(job: Job) -> None:
            started[name].append(job.data["n"])
            await release.wait()

        return handle

    draining = Worker(
        JobQueue(client, consumer="a"), handler("a"), concurrency=1, reclaim_idle=60.0, block_ms=50
    )
    for n in range(4):
        await draining.queue.put({"n": n})
    running = asyncio.create_task(draining.run())
    for _ in range(200):
        if started["a"]:
            break
        await asyncio.sleep(0.02)
    await asyncio.sleep(0.2)  # the rest wait in its backlog
    other = Worker(JobQueue(client, consumer="b"), handler("b"), reclaim_idle=60.0, block_ms=50)
    shutdown = asyncio.create_task(draining.shutdown(grace=5.0))
    watcher = asyncio.create_task(other.run())
    for _ in range(100):
        if len(started["b"]) == 3:
            break
        await asyncio.sleep(0.02)
    release.set()
    await shutdown
    await other.stop()
    watcher.cancel()
    running.cancel()
    assert started["a"] == [0] and sorted(started["b"]) == [1, 2, 3]  # within 2 s, not 60
    await client.aclose()


async def test_a_paused_worker_whose_job_was_taken_over_does_not_tell_the_user_twice(
    clean_redis: str,
) -> None:
    client = aioredis.from_url(clean_redis)
    paused, taker = JobQueue(client, consumer="paused"), JobQueue(client, consumer="taker")
    await paused.put({"n": 1})
    [job] = await paused.take(1, None)
    assert await paused.begin(job, lease=0.1) == "run"
    await asyncio.sleep(0.2)  # paused past its lease (an overloaded machine, a GC pause)
    assert await taker.begin(job, lease=5.0) == "run"  # taken over
    assert await paused.complete(job) is False  # the paused run finishes: it says nothing
    assert await taker.complete(job) is True  # the run that holds the job tells the user
    assert await paused.begin(job, lease=5.0) == "busy"  # while it tells
    await taker.finish(job)
    assert await paused.begin(job, lease=5.0) == "done"
    await client.aclose()


async def test_a_job_finished_while_redis_was_away_is_not_run_again_when_it_returns(
    own_redis: RedisProcess,
) -> None:
    """Its acknowledgement and its mark waited in the process; Redis came back (with the job still
    pending in its append-only file, as here): a takeover finds it finished, not abandoned."""
    client = aioredis.from_url(own_redis.url, socket_timeout=0.5, socket_connect_timeout=0.2)
    queue = JobQueue(client, consumer="one")
    await queue.put({"n": 1})
    [job] = await queue.take(1, None)
    assert await queue.begin(job, lease=5.0) == "run"
    assert own_redis.process is not None
    os.kill(own_redis.process.pid, signal.SIGSTOP)  # Redis away while the job finishes
    assert await queue.complete(job) is True  # told (better twice than never)
    await queue.finish(job)
    await queue.ack(job)
    os.kill(own_redis.process.pid, signal.SIGCONT)
    await asyncio.sleep(0.6)  # it has been idle past the takeover limit
    assert await queue.reclaim(min_idle_ms=100) == []  # settled first: acknowledged, not taken over
    assert await client.xlen(queue.stream) == 0
    await client.aclose()
