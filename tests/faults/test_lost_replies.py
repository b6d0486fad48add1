"""A Redis reply lost after the command ran, and the command sent again, must not turn a first
time into a repeat. Who sends it again: the Cluster client (it retries on connection errors and
timeouts), a client built with redis-py's default Retry, and the job queue's own write loop
(a pooled connection from before a Redis restart fails once). Before the fix such a retry
found the key set by its own first attempt: a replay marker called a first request a replay
(200, nothing queued, nobody told), and a completion told nobody."""

from __future__ import annotations

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff

from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from bot.store import keys
from bot.store.cache import RedisBackend
from bot.store.queue import JobQueue, lease_key
from bot.store.queue.leases import _COMPLETE as COMPLETE
from bot.store.queue.leases import TELLING
from tests.conftest import JIRA_CHANNEL
from tests.faults.redis_proxy import LosingProxy
from tests.scenarios.conftest import harness_config, last, running
from tests.scenarios.test_commands import texts


def retrying(url: str) -> aioredis.Redis:
    """A client that sends a command again after a connection error, as the Cluster client does."""
    return aioredis.from_url(url, retry=Retry(NoBackoff(), 3))


def _port(url: str) -> int:
    return int(url.split("://", 1)[1].split("/", 1)[0].rsplit(":", 1)[1])


async def test_a_marker_whose_answer_was_lost_is_still_this_calls_own(clean_redis: str) -> None:
    with LosingProxy(_port(clean_redis), lambda chunk: b"NX" in chunk and b"replay" in chunk) as proxy:
        client = retrying(proxy.url(clean_redis.rsplit("/", 1)[1]))
        backend = RedisBackend(client)
        token = await backend.try_lock(keys.key("replay", "abc"), 30)
        assert len(proxy.lost) == 1  # the first SET NX ran, its answer never came back
        assert token is not None  # the retry found this call's own token: a first time
        assert await backend.try_lock(keys.key("replay", "abc"), 30) is None  # a real repeat
        await client.aclose()


async def test_a_job_put_whose_answer_was_lost_is_put_once_and_not_called_a_repeat(clean_redis: str) -> None:
    db = clean_redis.rsplit("/", 1)[1]
    with LosingProxy(_port(clean_redis), lambda chunk: b"EVAL" in chunk and b"dedupe" in chunk) as proxy:
        client = aioredis.from_url(proxy.url(db))  # as the bot's: the queue retries
        queue = JobQueue(client, consumer="a")
        job = await queue.put({"n": 1}, once="request-1")
        assert len(proxy.lost) == 1
        assert job is not None  # not dropped as a repeat of itself
        assert await client.xlen(keys.jobs_stream()) == 1  # and written once
        assert await queue.put({"n": 1}, once="request-1") is None  # the real repeat
        await client.aclose()


async def test_a_completion_whose_answer_was_lost_still_lets_this_run_tell(clean_redis: str) -> None:
    db = clean_redis.rsplit("/", 1)[1]
    direct = aioredis.from_url(clean_redis)
    job = await JobQueue(direct, consumer="a").put({"n": 1})
    assert job is not None
    await direct.script_load(COMPLETE)  # so the completion is one EVALSHA, the one that loses its reply
    with LosingProxy(_port(clean_redis), lambda chunk: b"EVALSHA" in chunk and b":job:" in chunk) as proxy:
        client = retrying(proxy.url(db))
        queue = JobQueue(client, consumer="a")
        assert await queue.begin(job, lease=5.0) == "run"
        assert await queue.complete(job) is True  # else nobody would tell the user
        assert len(proxy.lost) == 1
        held = await direct.get(lease_key(str(job.jid)))
        assert held is not None and held.startswith(TELLING + b"a:")  # this run's claim to tell
        assert await JobQueue(direct, consumer="b").complete(job) is False  # another run stays quiet
        await client.aclose()
    await direct.aclose()


async def test_an_update_whose_replay_marker_answer_was_lost_is_applied_and_told(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> None:
    db = clean_redis.rsplit("/", 1)[1]
    # The fast ack checks the replay marker in the job's own write (one EVALSHA naming it).
    with LosingProxy(_port(clean_redis), lambda chunk: b":replay:" in chunk) as proxy:
        config = harness_config(sandbox, fake_slack, proxy.url(db))
        async with running(config, sandbox, fake_slack) as harness:
            response = await harness.command("update PROJ-42 priority=high")
            assert response.status_code == 200 and response.content == b""
            assert len(proxy.lost) == 1
            [patch] = harness.sandbox.state.calls("PATCH")
            assert patch.body == {"priority": {"id": "jp2", "name": "High"}}
            posted = last(harness.calls("chat.postMessage"))
            assert posted["channel"] == JIRA_CHANNEL
            assert "priority Medium → High" in texts(posted["blocks"])
