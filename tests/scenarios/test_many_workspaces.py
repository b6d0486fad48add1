"""Many workspaces on one deployment: what a process keeps of them is bounded (the least
recently used dropped, read again when it asks), and a cold workspace is read from the copy the
processes share, or in one statement."""

from __future__ import annotations

import gc
import weakref
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from slack_sdk.http_retry.async_handler import AsyncRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from handlers.kit.tenancy import web_client
from tests.bot.store.sql.test_workspace_state import statements
from tests.fleet import connect, distributed_settings, install, running_fleet, slash
from tests.scenarios.conftest import Harness

FORM = "application/x-www-form-urlencoded"
TEAMS = ("T0ACME", "T0GLOBEX", "T0INITECH")


@pytest.fixture
async def small_fleet(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str, tmp_path: Path
) -> AsyncIterator[Harness]:
    settings = distributed_settings(sandbox, fake_slack, clean_redis, tmp_path, workspaces_kept=2)
    async with running_fleet(settings, sandbox, fake_slack) as harness:
        for team in TEAMS:  # each installed, its Jira connected
            await install(harness, team)
            await connect(harness, team, "jira")
        yield harness


async def test_workspaces_kept_in_a_process_are_bounded(small_fleet: Harness) -> None:
    fleet = small_fleet
    assert fleet.bot.distributed is not None
    workspaces, tenancy = fleet.bot.distributed.workspaces, fleet.bot.distributed.tenancy
    for team, priority in [(t, "low") for t in TEAMS] + [(t, "high") for t in TEAMS]:
        fleet.sandbox.state.requests.clear()
        text = f"update PROJ-42 priority={priority}"
        await fleet.post(slash(team, text, fleet.slack.response_url()), FORM)
        assert [r.method for r in fleet.sandbox.state.calls("PATCH")] == ["PATCH"], team  # each still served
    assert len(workspaces._kept) == 2 and set(workspaces._kept) == {"T0GLOBEX", "T0INITECH"}
    assert len(tenancy._made) <= 2 and len(tenancy._signers) <= 2

    # The least recently used is read again when it asks: from the copy the processes share in
    # Redis, no statement; with that copy gone too (never read anywhere), one statement for its
    # whole state, and nothing more for its update's job (nobody there has an account of their
    # own to look up).
    database = fleet.bot.distributed.database
    for shared_copy, expected, priority in ((True, 0, "low"), (False, 1, "high")):
        workspaces.forget("T0ACME")
        if not shared_copy:
            assert fleet.core.redis is not None
            await fleet.core.redis.delete(
                *[k async for k in fleet.core.redis.scan_iter("*:workspace:{T0ACME}:*")]
            )
        sent = statements(database)
        fleet.sandbox.state.requests.clear()
        text = f"update PROJ-42 priority={priority}"
        await fleet.post(slash("T0ACME", text, fleet.slack.response_url()), FORM)
        assert [r.method for r in fleet.sandbox.state.calls("PATCH")] == ["PATCH"]
        assert len(sent) == expected, sent
    assert "team_accounts" in sent[0] and "personal_connections" in sent[0]


async def test_a_dropped_workspace_is_freed_at_once_without_a_full_collection(small_fleet: Harness) -> None:
    """A workspace's wiring has no reference cycle: dropped from the bounded cache, it is freed
    by its reference count, so the HTTP process need not run CPython's automatic full
    collections (bot/ops/quiet_gc.py)."""
    fleet = small_fleet
    assert fleet.bot.distributed is not None
    workspaces, tenancy = fleet.bot.distributed.workspaces, fleet.bot.distributed.tenancy
    await fleet.post(slash("T0ACME", "update PROJ-42 priority=low", fleet.slack.response_url()), FORM)
    made = await tenancy.made_for("T0ACME")
    assert made is not None
    deps, client = made
    parts = [deps, client, deps.core, deps.service, deps.service.planner, deps.service.planner.resolver]
    parts += [deps.config, workspaces._kept["T0ACME"]]
    alive = [weakref.ref(part) for part in parts]
    del made, deps, client, parts
    gc.collect()
    gc.disable()
    try:
        for team in TEAMS[1:]:  # two others in a process that keeps two: T0ACME is dropped
            await fleet.post(slash(team, "update PROJ-42 priority=high", fleet.slack.response_url()), FORM)
        assert "T0ACME" not in workspaces._kept and "T0ACME" not in tenancy._made
        assert [ref() for ref in alive] == [None] * len(alive)
    finally:
        gc.enable()


def test_a_workspace_client_is_the_base_with_its_own_token_and_nothing_shared_to_change() -> None:
    handler = AsyncRetryHandler()
    base = AsyncWebClient(base_url="http://slack.test/api/", timeout=7, retry_handlers=[handler])
    client = web_client(base, " xoxb-acme ")
    assert (client.token, client.base_url, client.timeout) == ("xoxb-acme", "http://slack.test/api/", 7)
    assert client.retry_handlers == [handler] and client.headers == base.headers
    client.headers["X-Extra"] = "1"
    client.retry_handlers.append(AsyncRetryHandler())
    client.default_params["team_id"] = "T0ACME"
    assert base.token is None and "X-Extra" not in base.headers
    assert base.retry_handlers == [handler] and base.default_params == {}
