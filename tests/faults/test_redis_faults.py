"""Redis down at start-up, and Redis stopped mid-run: updates still work, and jobs written
before the stop run once Redis is back."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from tests.conftest import JIRA_CHANNEL
from tests.redis_server import RedisProcess, free_port
from tests.scenarios.conftest import harness_config, last, running
from tests.scenarios.payloads import slash_command


async def test_redis_down_at_start_up(
    sandbox: SandboxServer, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    config = harness_config(sandbox, fake_slack, f"redis://127.0.0.1:{free_port()}/0")
    caplog.set_level(logging.WARNING)
    async with running(config, sandbox, fake_slack) as harness:
        await harness.command("PROJ-42 status=done")
        await harness.command("PROJ-41 status=done")
        assert harness.sandbox.state.patches_applied == 2
        assert len(harness.calls("chat.postMessage")) == 2  # both cards posted
    jobs_warnings = [r for r in caplog.records if "Redis unavailable for jobs" in r.getMessage()]
    cache_warnings = [r for r in caplog.records if "Redis unavailable (" in r.getMessage()]
    assert len(jobs_warnings) == 1 and len(cache_warnings) == 1  # said once, not per request


@pytest.mark.process
async def test_jobs_written_before_a_redis_stop_run_after_it_returns(
    sandbox: SandboxServer, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    redis = RedisProcess(data_dir=str(tmp_path))
    redis.start()
    try:
        config = harness_config(sandbox, fake_slack, redis.url)
        async with running(config, sandbox, fake_slack) as harness:
            harness.run_jobs = False  # the worker is "busy": jobs wait in the stream
            await harness.command("PROJ-42 status=done")
            assert harness.sandbox.state.calls("PATCH") == []
            redis.stop()
            await harness.command("PROJ-41 status=done")  # while Redis is down: kept in memory
            await harness.bot.worker.drain()
            assert [c.path for c in harness.sandbox.state.calls("PATCH")] == [
                "/unified/ticketing/tickets/PROJ-41"
            ]
            redis.start()  # with its append-only file: the first job is still there
            await harness.bot.worker.drain()
            patched = sorted(c.path for c in harness.sandbox.state.calls("PATCH"))
            assert patched == ["/unified/ticketing/tickets/PROJ-41", "/unified/ticketing/tickets/PROJ-42"]
            assert harness.sandbox.state.patches_applied == 2
            assert len(harness.calls("chat.postMessage")) == 2
            await harness.bot.worker.drain()
            assert harness.sandbox.state.patches_applied == 2  # nothing runs twice
    finally:
        redis.stop()


async def test_an_unfinished_job_is_reclaimed_and_applied_once(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> None:
    """A worker took the job and vanished; another process (here: a second app) takes it over."""
    config = harness_config(sandbox, fake_slack, clean_redis, job_reclaim_seconds=0.2)
    async with running(config, sandbox, fake_slack) as first, running(config, sandbox, fake_slack) as second:
        first.run_jobs = False
        body = slash_command("PROJ-42 priority=high", JIRA_CHANNEL, fake_slack.response_url())
        await first.post(body, "application/x-www-form-urlencoded")
        [taken] = await first.bot.deps.jobs.take(1, None)  # taken, never finished: the worker "died"
        assert taken.data["text"] == "PROJ-42 priority=high"
        import asyncio

        await asyncio.sleep(0.3)
        assert await second.bot.worker.drain() == 1
        assert sandbox.state.patches_applied == 1
        assert len(second.calls("chat.postMessage")) == 1
        await asyncio.sleep(0.3)
        assert await second.bot.worker.drain() == 0  # acknowledged: not reclaimed again


async def test_a_job_still_running_is_not_taken_for_abandoned(clean_redis: str) -> None:
    import asyncio

    import redis.asyncio as aioredis

    from bot.store.queue import JobQueue

    busy = JobQueue(aioredis.from_url(clean_redis), consumer="busy")
    other = JobQueue(aioredis.from_url(clean_redis), consumer="other")
    await busy.put({"kind": "command", "text": "PROJ-1 status=done"})
    [job] = await busy.take(1, None)
    for _ in range(3):  # the busy worker says "still mine" more often than the idle limit
        await asyncio.sleep(0.15)
        await busy.keep_alive([job], lease=0.3)
    assert await other.reclaim(min_idle_ms=300) == []
    await asyncio.sleep(0.35)  # now it stops answering: the job is taken over
    [taken] = await other.reclaim(min_idle_ms=300)
    assert taken.id == job.id and taken.deliveries == 2


async def test_beside_worker_processes_the_http_process_runs_the_jobs_it_kept() -> None:
    """Redis was away when the job was written: it waits in this process, and runs here."""
    import asyncio

    import redis.asyncio as aioredis

    from bot.store.queue import Job, JobQueue, Worker

    queue = JobQueue(aioredis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=0.2))
    ran: list[str] = []

    async def handle(job: Job) -> None:
        ran.append(job.data["text"])

    kept = await queue.put({"kind": "command", "text": "PROJ-1 status=done"})
    assert kept is not None and kept.source == "memory"
    worker = Worker(queue, handle, memory_only=True, block_ms=100)
    running = asyncio.create_task(worker.run())
    for _ in range(50):
        if ran:
            break
        await asyncio.sleep(0.02)
    await worker.stop()
    running.cancel()
    assert ran == ["PROJ-1 status=done"]


async def test_a_job_that_keeps_dying_is_given_up_and_its_user_told_with_retry(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> None:
    """Every delivery ended without an acknowledgement (the process running it died): after
    MAX_DELIVERIES the job is not run again, and its user hears so, with a Retry that works."""
    import asyncio

    from bot.store.queue import MAX_DELIVERIES
    from tests.faults.test_api_faults import card_posted_then_notice_removed, retry

    config = harness_config(sandbox, fake_slack, clean_redis, job_reclaim_seconds=0.05)
    async with running(config, sandbox, fake_slack) as harness:
        harness.run_jobs = False
        body = slash_command("PROJ-42 priority=high", JIRA_CHANNEL, fake_slack.response_url())
        await harness.post(body, "application/x-www-form-urlencoded")
        jobs = harness.bot.deps.jobs
        [taken] = await jobs.take(1, None)
        for _ in range(MAX_DELIVERIES - 1):  # taken over and "dying" each time
            await asyncio.sleep(0.06)
            [taken] = await jobs.reclaim(min_idle_ms=50)
        assert taken.deliveries == MAX_DELIVERIES
        await asyncio.sleep(0.06)
        assert await harness.bot.worker.drain() == 1  # the sixth delivery: given up
        assert sandbox.state.calls("PATCH") == []
        told = last(harness.calls("response"))
        assert told["response_type"] == "ephemeral"
        assert told["text"] == (
            "PROJ-42: the update could not be completed (it was tried 5 times); "
            "it may not have been applied. Retry is safe: it cannot apply twice."
        )
        await asyncio.sleep(0.06)
        assert await harness.bot.worker.drain() == 0  # acknowledged: never delivered again
        harness.run_jobs = True
        await retry(harness, told)
        assert sandbox.state.patches_applied == 1
        assert card_posted_then_notice_removed(harness)
