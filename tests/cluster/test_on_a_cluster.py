"""Jobs, caches, repeat and replay markers, the API budget and the quota on a Redis Cluster:
every multi-key command and script keeps its keys in one hash slot."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster

from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from bot.slack.edge import ReplayGuard
from bot.store import keys
from bot.store.cache import Cache, RedisBackend
from bot.store.queue import Job, JobQueue, Worker
from bot.store.quota import UserQuota
from bot.store.redis_client import connect
from bot.truto.errors import RateLimited
from bot.truto.ratelimit import RedisRateLimiter
from tests.cluster.conftest import Cluster
from tests.scenarios.conftest import harness_config, last, running

pytestmark = pytest.mark.process


@pytest.fixture
async def client(cluster: Cluster) -> AsyncIterator[aioredis.Redis]:
    keys.use("clustertest")
    connection = connect(cluster.url, cluster=True)
    # Connect to every node before the tests run commands at once: redis-py's asyncio cluster
    # client can fail a command that races a node's very first connection (AttributeError on
    # its writer). `serve` meets the same race only in its first milliseconds.
    await connection.ping(target_nodes=RedisCluster.ALL_NODES)  # type: ignore[call-arg]
    yield connection
    await connection.aclose()
    keys.use(keys.LEGACY_NAMESPACE)


def test_the_job_stream_and_its_markers_share_a_slot() -> None:
    keys.use("ns1")
    try:
        assert (
            keys.jobs_stream().split("}")[0] == keys.jobs_marker("x").split("}")[0] == "ticketbot:{ns1:jobs"
        )
    finally:
        keys.use(keys.LEGACY_NAMESPACE)


async def test_jobs_once_take_lease_ack_and_reclaim(client: aioredis.Redis) -> None:
    queue = JobQueue(client, consumer="a")
    other = JobQueue(client, consumer="b")
    first = await queue.put({"n": 1}, once="k")
    assert first is not None and first.source == "redis"
    assert await queue.put({"n": 1}, once="k") is None  # the repeat marker, in the stream's slot
    ran: list[int] = []

    async def handle(job: Job) -> None:
        ran.append(job.data["n"])

    [taken] = await queue.take(1, None)
    assert await queue.begin(taken, 5.0) == "run"
    assert await other.begin(taken, 5.0) == "busy"
    await queue.finish(taken)
    await queue.ack(taken)
    assert await client.xlen(keys.jobs_stream()) == 0
    await queue.put({"n": 2})
    await queue.take(1, None)  # taken by a, which dies
    await asyncio.sleep(0.3)
    worker = Worker(other, handle, reclaim_idle=0.2)
    await worker.drain()
    assert ran == [2]


async def test_cache_locks_and_markers(client: aioredis.Redis) -> None:
    cache = Cache(RedisBackend(client))
    calls = 0

    async def fetch() -> dict[str, int]:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)
        return {"v": 1}

    answers = await asyncio.gather(
        *(cache.get_or_fetch(keys.key("t", "x"), fetch, ttl=60, stale_for=60) for _ in range(10))
    )
    assert answers == [{"v": 1}] * 10 and calls == 1
    guard = ReplayGuard(RedisBackend(client))
    headers = {"x-slack-request-timestamp": "1", "x-slack-signature": "v0=ab"}
    assert await guard.first_time(headers) is True
    assert await guard.first_time(headers) is False


async def test_rate_budget_and_quota(client: aioredis.Redis) -> None:
    limiter = RedisRateLimiter(client, 2, 10.0, max_wait=0.1)
    await limiter.acquire("ia-cluster")
    await limiter.acquire("ia-cluster")
    with pytest.raises(RateLimited):
        await limiter.acquire("ia-cluster")
    quota = UserQuota(client, 2)
    assert [await quota.allow("T1", "U1") for _ in range(3)] == [True, True, False]


async def test_a_command_end_to_end_on_the_cluster(
    cluster: Cluster, sandbox: SandboxServer, fake_slack: FakeSlack
) -> None:
    config = harness_config(sandbox, fake_slack, cluster.url, redis_cluster=True)
    async with running(config, sandbox, fake_slack) as harness:
        await harness.command("PROJ-42 priority=high")
        await harness.command("PROJ-42 tags+=backend")
    assert sandbox.state.patches_applied == 2
    assert last(fake_slack.state.named("chat.postMessage"))["text"].startswith("PROJ-42")
    keys.use(keys.LEGACY_NAMESPACE)
