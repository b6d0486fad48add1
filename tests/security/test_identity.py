"""Nobody acts as someone else: what Slack says of a person is per workspace (an Enterprise Grid
user id is the same in every workspace of an org), a permission question Slack cannot answer is
refused, and guests and people from other organisations change nothing unless an admin allows."""

from __future__ import annotations

import pytest

from bot.domain.accounts import Permissions
from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from handlers.jobs.subscribers import store_of
from tests.conftest import JIRA, JIRA_CHANNEL
from tests.fleet import ACME, GLOBEX, event, fleet, install
from tests.scenarios.conftest import Harness, harness_config, last, running
from tests.scenarios.test_subscriptions import subscribe

__all__ = ["fleet"]  # the fixture

BOB = "W0BOB"  # a Grid user: the same id in ACME and GLOBEX


def home_buttons(fleet: Harness, team: str, user: str) -> list[str]:
    published = fleet.calls("views.publish")[-1]
    assert published.authorization.startswith(f"Bearer xoxb-{team}-")
    return [
        e["text"]["text"]
        for b in published.args["view"]["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]


async def test_admin_in_one_grid_workspace_is_not_admin_in_another(fleet: Harness) -> None:
    for team in (ACME, GLOBEX):
        await install(fleet, team)
    fleet.slack.state.emails[BOB] = "bob@grid.example"
    fleet.slack.state.admins.add(f"{ACME}:{BOB}")  # admin of ACME only
    await fleet.event(event(ACME, {"type": "app_home_opened", "user": BOB, "tab": "home"}))
    assert "Connect your tracker" in home_buttons(fleet, ACME, BOB)
    await fleet.event(event(GLOBEX, {"type": "app_home_opened", "user": BOB, "tab": "home"}))
    assert home_buttons(fleet, GLOBEX, BOB) == []  # ACME's answer never serves GLOBEX
    infos = [c for c in fleet.calls("users.info") if c.args["user"] == BOB]
    assert {c.authorization.split("-")[1] for c in infos} == {ACME, GLOBEX}  # asked in each


async def test_channel_membership_unknown_to_slack_is_refused(edge: Harness) -> None:
    edge.slack.state.memberships["U0ANA"] = [JIRA_CHANNEL]
    edge.slack.state.fail_next("users.conversations", status=429, retry_after=0)
    edge.slack.state.fail_next("users.conversations", status=429, retry_after=0)
    edge.slack.state.fail_next("users.conversations", status=429, retry_after=0)
    said = await subscribe(edge, "priority=High", channel="C0ELSEWHERE")
    assert said["text"].startswith("Slack did not say whether you are in <#C0ELSEWHERE> just now; try again")
    assert await store_of(edge.bot.deps).of_account("sandbox-jira") == []


@pytest.mark.parametrize("kind", ["restricted", "ultra_restricted", "stranger", "T0OTHERORG"])
async def test_guests_and_other_organisations_change_nothing_by_default(edge: Harness, kind: str) -> None:
    edge.slack.state.guests["U0ANA"] = kind
    await edge.command("update PROJ-42 priority=high")
    assert edge.sandbox.state.calls("PATCH") == []
    text = last(edge.calls("response"))["text"]
    what = "a guest" if "restricted" in kind else "from another organisation"
    assert text.startswith(f"You are {what} in this workspace, and guests may not change Jira tickets")
    assert "permissions.guests" in text
    await edge.command('comment PROJ-42 "hello"')
    assert [c for c in edge.sandbox.state.calls("POST") if "comments" in c.path] == []
    edge.slack.state.memberships["U0ANA"] = [JIRA_CHANNEL]
    said = await subscribe(edge, "priority=High")
    assert said["text"].startswith(f"You are {what} in this workspace")
    await edge.command("show PROJ-42")  # reading stays open
    assert last(edge.calls("response"))["blocks"]


async def test_an_admin_may_allow_guests(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> None:
    jira = JIRA.model_copy(update={"permissions": Permissions(guests=True)})
    async with running(harness_config(sandbox, fake_slack, clean_redis, jira=jira), sandbox, fake_slack) as h:
        h.slack.state.guests["U0ANA"] = "restricted"
        await h.command("update PROJ-42 priority=high")
        [patch] = h.sandbox.state.calls("PATCH")
        assert patch.body == {"priority": {"id": "jp2", "name": "High"}}


async def test_a_failed_users_info_refuses_and_is_asked_again_soon(edge: Harness) -> None:
    edge.slack.state.fail_next("users.info", error="fatal_error")
    await edge.command("update PROJ-42 priority=high")
    assert edge.sandbox.state.calls("PATCH") == []
    assert "try again in a minute" in last(edge.calls("response"))["text"]
    client = edge.core.redis
    assert client is not None
    [key] = [k async for k in client.scan_iter("*slack:user*U0ANA")]
    assert 0 < await client.ttl(key) <= 60  # a failure is not an hour's answer
