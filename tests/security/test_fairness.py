"""One person, or one account, cannot stall everyone: worker shares per account, a deadline
on the wait for the API budget, a bounded in-process queue."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from bot.store.queue import Job, JobQueue, QueueFull, Worker
from bot.truto.errors import RateLimited
from bot.truto.ratelimit import MemoryRateLimiter
from handlers.kit.job_queue import BUSY
from tests.redis_server import free_port
from tests.scenarios.conftest import harness_config, running


async def test_a_flood_for_one_account_leaves_room_for_another() -> None:
    """30 jobs of account A, each waiting (as for A's exhausted API budget), and then one of B:
    B's job starts at once although every job of A is still waiting."""
    queue = JobQueue(None)
    release = asyncio.Event()
    started: list[str] = []

    async def handle(job: Job) -> None:
        started.append(job.data["account"])
        if job.data["account"] == "a":
            await release.wait()

    worker = Worker(queue, handle, concurrency=8, share_key=lambda job: job.data["account"], block_ms=20)
    for n in range(30):
        await queue.put({"account": "a", "n": n})
    await queue.put({"account": "b"})
    running_worker = asyncio.create_task(worker.run())
    for _ in range(100):
        if "b" in started:
            break
        await asyncio.sleep(0.01)
    assert "b" in started
    assert started.count("a") == 4  # half of the 8 slots
    release.set()
    for _ in range(200):
        if len(started) == 31:
            break
        await asyncio.sleep(0.01)
    await worker.stop()
    running_worker.cancel()
    assert started.count("a") == 30  # every job of A ran, once


async def test_workers_copied_with_replace_have_their_own_tasks() -> None:
    import dataclasses

    worker = Worker(JobQueue(None), lambda job: asyncio.sleep(0))
    copy = dataclasses.replace(worker, memory_only=True)
    assert copy._tasks is not worker._tasks and copy._running is not worker._running


async def test_a_wait_for_the_api_budget_has_a_deadline() -> None:
    limiter = MemoryRateLimiter(1, 10.0, max_wait=0.5)
    await limiter.acquire("account")
    started = time.monotonic()
    with pytest.raises(RateLimited) as refused:
        await limiter.acquire("account")
    assert time.monotonic() - started < 0.1  # told at once, not after a 10 s wait
    assert "rate limit" in refused.value.user_message


async def test_the_in_process_queue_is_bounded() -> None:
    queue = JobQueue(None, memory_limit=2)
    await queue.put({"n": 1})
    await queue.put({"n": 2})
    with pytest.raises(QueueFull):
        await queue.put({"n": 3})


async def test_with_redis_away_and_the_queue_full_the_user_is_told_to_try_again(
    sandbox: SandboxServer, fake_slack: FakeSlack
) -> None:
    config = harness_config(sandbox, fake_slack, f"redis://127.0.0.1:{free_port()}/0", memory_job_limit=1)
    async with running(config, sandbox, fake_slack) as harness:
        harness.run_jobs = False
        first = await harness.command("PROJ-42 priority=high")
        second = await harness.command("PROJ-41 priority=high")
        assert first.content == b""
        assert second.json()["text"] == BUSY
        await harness.bot.worker.drain()
        assert [c.path for c in sandbox.state.calls("PATCH")] == ["/unified/ticketing/tickets/PROJ-42"]


async def test_one_person_has_one_bulk_plan_in_flight_and_pays_per_ticket(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> None:
    from tests.scenarios.conftest import last

    config = harness_config(sandbox, fake_slack, clean_redis, user_quota_per_minute=30)
    async with running(config, sandbox, fake_slack) as harness:
        harness.run_jobs = False
        first = await harness.command("update PROJ-1..PROJ-20 tags+=docs")
        assert first.content == b""  # acknowledged; its plan is a job
        second = await harness.command("update PROJ-21..PROJ-25 tags+=docs")
        assert second.json()["text"].startswith("You already have a bulk update being planned")
        assert await harness.bot.worker.drain() == 1  # the second was never queued
        assert "Preview of 20 tickets" in last(harness.calls("response"))["text"]
        # 35 tickets cost 35 requests, more than the 30 a minute allows (whatever was sent before).
        over = await harness.command("update PROJ-1..PROJ-35 tags+=docs")
        assert over.json()["text"].startswith(
            "A bulk update counts one request per ticket it reads: these 35"
        )
        assert await harness.bot.worker.drain() == 0
        again = await harness.command("update PROJ-21..PROJ-22 tags+=docs")  # the plan marker was freed
        assert not again.content or "being planned" not in again.json()["text"]


@pytest.mark.slow
async def test_a_flood_of_bulk_previews_from_one_person_does_not_stall_anyone_elses_update(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> None:
    """Before, 18 previews of PROJ-1..PROJ-50 from one person (each planning 50 reads, run in the
    single-update share) made another person's update wait 182 s. Now the first plan runs in the
    bulk share of the workers and of the API budget, the other 17 are answered at once, and the
    other person's update is applied within seconds."""
    from tests.scenarios.payloads import BRUNO
    from tests.scenarios.test_bulk import acked_only

    sandbox.state.rate_limit = (50, 10.0)
    config = harness_config(sandbox, fake_slack, clean_redis, truto_rate_limit=50, user_quota_per_minute=0)
    async with running(config, sandbox, fake_slack) as harness:
        harness.run_jobs = False
        await harness.command("help")  # lookups warm, outside the measured window
        worker = asyncio.create_task(harness.bot.worker.run())
        try:
            for _ in range(18):
                await acked_only(harness, "update PROJ-1..PROJ-50 tags+=docs")
            while len(sandbox.state.calls("GET", "/tickets/")) < 20:  # noqa: ASYNC110 - planning under way
                await asyncio.sleep(0.05)
            await acked_only(harness, "PROJ-55 priority=low", BRUNO)
            acked = time.monotonic()
            while not [c for c in sandbox.state.calls("PATCH", "PROJ-55") if c.status == 200]:
                assert time.monotonic() - acked < 3.0, "the single update waited behind the bulk plans"
                await asyncio.sleep(0.05)
            reads = len(sandbox.state.calls("GET", "/tickets/"))
            assert reads <= 50  # one plan read its tickets; the 17 others were refused, not queued
        finally:
            await harness.bot.worker.shutdown(0.1)
            worker.cancel()


async def test_the_home_tab_reads_only_its_users_recent_updates_and_each_event_once(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> None:
    """Before, each app_home_opened scanned the audit trail (0.53 s of CPU with 50,000 records;
    80 at once pushed acks to 7 s). Now the tab reads the user's own list of recent updates,
    handles each event id once, and counts towards the user's quota."""
    import json as json_module

    import redis as sync_redis

    from bot.store import keys as bot_keys
    from tests.scenarios.test_home import home_opened, text_of

    config = harness_config(sandbox, fake_slack, clean_redis, user_quota_per_minute=0)
    async with running(config, sandbox, fake_slack) as harness:
        await harness.command("PROJ-42 priority=high")
        others = sync_redis.Redis.from_url(clean_redis)
        record = {
            "at": "2026-12-01T10:00:00+00:00",
            "user_id": "U0OTHER",
            "user_name": "o",
            "channel": "C0",
            "account": "jira",
            "ticket": "PROJ-1",
            "changes": [],
            "status": 200,
            "idempotency_key": "k",
        }
        with others.pipeline(transaction=False) as pipe:
            for _ in range(50_000):
                pipe.xadd(bot_keys.key("audit"), {"r": json_module.dumps(record)})
            pipe.execute()
        others.close()
        audit = harness.core.service.audit
        assert audit is not None and audit.client is not None
        scans: list[object] = []
        real_xrevrange = audit.client.xrevrange

        async def counted(*args: object, **kwargs: object) -> object:
            scans.append(args)
            return await real_xrevrange(*args, **kwargs)  # type: ignore[arg-type]

        audit.client.xrevrange = counted  # type: ignore[method-assign]
        opened = home_opened()
        harness.reset_counts()
        await harness.event(opened)
        await harness.event(opened, retry_num=1)  # Slack's retry of the same event
        [published] = harness.calls("views.publish")
        assert "PROJ-42" in text_of(published.args["view"])
        assert scans == []  # the 50,000 records were not read
