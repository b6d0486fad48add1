"""A hung Redis (SIGSTOP): the ack still comes well inside Slack's 3 s, and an update whose
job write timed out (kept in memory, while its stream copy landed later) runs once."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import Iterator

import pytest
import redis.asyncio as aioredis

from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from bot.store import ack_budget, keys
from bot.store.queue import Job, JobQueue, Worker
from tests.conftest import JIRA_CHANNEL
from tests.redis_server import RedisProcess
from tests.scenarios.conftest import harness_config
from tests.scenarios.payloads import sign, slash_command
from tests.security.conftest import served

pytestmark = pytest.mark.process


@pytest.fixture
def hung() -> Iterator[RedisProcess]:
    server = RedisProcess()
    server.start()
    yield server
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGCONT)
    server.stop()


def freeze(server: RedisProcess, frozen: bool) -> None:
    assert server.process is not None
    os.kill(server.process.pid, signal.SIGSTOP if frozen else signal.SIGCONT)


async def test_the_ack_fits_one_budget_and_the_update_lands_once(
    hung: RedisProcess, sandbox: SandboxServer, fake_slack: FakeSlack
) -> None:
    config = harness_config(sandbox, fake_slack, hung.url)
    async with served(config, sandbox, fake_slack) as harness:
        await harness.command("PROJ-41 priority=low")  # warm: connections, lists, the job group
        harness.reset_counts()
        freeze(hung, True)
        body = slash_command("PROJ-42 priority=high", JIRA_CHANNEL, fake_slack.response_url())
        started = time.monotonic()
        response = await harness.http.post(
            "/slack/events",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)},
        )
        acked_in = time.monotonic() - started
        assert response.status_code == 200
        assert acked_in < 2.0  # it took 4 s: a chain of 1 s timeouts
        run = asyncio.create_task(harness.bot.worker.drain())
        await asyncio.sleep(1.5)
        freeze(hung, False)
        await run
        await harness.bot.worker.drain()
        assert len(sandbox.state.calls("PATCH")) == 1
        assert len(harness.calls("chat.postMessage")) == 1  # one card


async def test_a_job_whose_write_timed_out_but_landed_runs_once(hung: RedisProcess) -> None:
    client = aioredis.from_url(hung.url, socket_timeout=0.5)
    queue = JobQueue(client, consumer="one")
    await queue.take(1, None)  # the group exists
    ran: list[str] = []

    async def handle(job: Job) -> None:
        ran.append(job.data["text"])

    freeze(hung, True)

    async def acked_put() -> Job | None:
        ack_budget.begin(0.3)
        return await queue.put({"kind": "command", "text": "PROJ-1 status=done"}, once="k1")

    kept = await asyncio.create_task(acked_put())
    assert kept is not None and kept.source == "memory"  # the XADD is still in flight
    worker = Worker(queue, handle)
    await worker.drain()  # runs the memory copy while Redis is frozen
    assert ran == ["PROJ-1 status=done"]
    freeze(hung, False)  # the stream copy lands now
    await asyncio.sleep(0.2)
    await worker.drain()
    await worker.drain()
    assert ran == ["PROJ-1 status=done"]  # the stream copy found the first run's mark
    assert await client.xlen(keys.jobs_stream()) == 0
    await client.aclose()
