"""A namespace change is never silent: the default namespace stays when accounts are added, the
earlier one's keys are moved at start-up (and on request), and `ticketbot check` names any
namespace that still holds keys. Real Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from bot.ops.config import load_config
from bot.runtime import build_core
from bot.service.audit import AuditRecord, AuditTrail
from bot.store import keys, namespaces
from bot.store.queue import JobQueue, Worker

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"


@pytest.fixture(autouse=True)
def restore_namespace() -> Iterator[None]:
    before, earlier = keys.current(), keys.previous()
    yield
    keys.use(before, earlier)


@pytest.fixture
async def client(clean_redis: str) -> AsyncIterator[aioredis.Redis]:
    redis = aioredis.from_url(clean_redis)
    await redis.flushdb()  # namespaces are surveyed across the database
    yield redis
    await redis.flushdb()
    await redis.aclose()


def yaml_with_two_accounts(tmp_path: Path) -> Path:
    path = tmp_path / "ticketbot.yml"
    path.write_text(
        "default_account: jira\n"
        "accounts:\n"
        "  jira: {integrated_account_id: sandbox-jira}\n"
        "  linear: {integrated_account_id: sandbox-linear}\n"
    )
    return path


async def test_the_default_namespace_stays_when_the_configuration_moves_to_yaml(
    tmp_path: Path, clean_redis: str
) -> None:
    common = {"truto_api_token": "t", "slack_signing_secret": SECRET, "redis_url": clean_redis}
    env_only = build_core(load_config(truto_integrated_account_id="sandbox-jira", **common))
    named = keys.current()
    await env_only.aclose()
    with_yaml = build_core(load_config(ticketbot_config=yaml_with_two_accounts(tmp_path), **common))
    assert keys.current() == named == keys.derive(SECRET)
    # The name earlier versions derived from this configuration is still read, and moved.
    assert keys.previous() == (keys.derive_with_accounts(SECRET, ["sandbox-jira", "sandbox-linear"]),)
    await with_yaml.aclose()


async def test_the_earlier_namespace_is_moved_at_start_up_so_the_audit_trail_stays(
    client: aioredis.Redis, clean_redis: str
) -> None:
    config = load_config(
        truto_api_token="t",
        truto_integrated_account_id="sandbox-jira",
        slack_signing_secret=SECRET,
        redis_url=clean_redis,
    )
    old = keys.derive_with_accounts(SECRET, ["sandbox-jira"])
    keys.use(old)  # what the version before wrote
    await AuditTrail(client).record(
        AuditRecord.now(
            user_id="U0ANA", user_name="ana", channel="C1", account="default", ticket="PROJ-1", changes=[]
        )
    )
    await client.set(keys.key("undo", "u1"), "kept", px=60_000)
    core = build_core(config)
    assert keys.current() != old
    await core.warm_up()
    [record] = await core.service.audit.read(ticket="PROJ-1")  # type: ignore[union-attr]
    assert record.user_id == "U0ANA"
    assert 0 < await client.pttl(keys.key("undo", "u1")) <= 60_000  # with its time to live
    assert await namespaces.others(client) == {}
    assert await client.exists(keys.key("adopted", old))  # later start-ups skip the scan
    await core.aclose()


async def test_adopt_keeps_newer_keys_and_leaves_other_namespaces(client: aioredis.Redis) -> None:
    keys.use("staging")
    await client.set(keys.key("settings"), "staging's")
    keys.use("old")
    await client.set(keys.key("settings"), "old")
    await client.set(keys.key("history", "U0ANA"), "old history")
    keys.use("new")
    await client.set(keys.key("settings"), "new")
    assert await namespaces.others(client) == {"old": 2, "staging": 1}
    assert await namespaces.adopt(client, "old") == 1
    assert await client.get(keys.key("history", "U0ANA")) == b"old history"
    assert await client.get(keys.key("settings")) == b"new"  # its own, newer value kept
    assert await namespaces.others(client) == {"staging": 1}


async def test_jobs_left_in_the_earlier_namespace_stream_still_run(client: aioredis.Redis) -> None:
    keys.use("old")
    await JobQueue(client, consumer="old-process").put({"n": 1})  # an old process, mid-upgrade
    keys.use("new", previous=["old"])
    ran: list[int] = []

    async def handle(job: object) -> None:
        ran.append(job.data["n"])  # type: ignore[attr-defined]

    worker = Worker(JobQueue(client, consumer="new-process"), handle, block_ms=20)
    await worker.drain()
    assert ran == [1]
    assert await client.xlen(keys.jobs_stream("old")) == 0  # acknowledged where it was
