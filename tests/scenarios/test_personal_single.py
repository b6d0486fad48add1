"""Act as yourself in single-workspace mode: people's own connections kept in the named database,
their link tokens naming the installation's team (auth.test), their changes made as them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from bot.domain.accounts import Account
from bot.ops.config import AppConfig, ConfigError, Settings, build_config
from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from tests.conftest import JIRA, JIRA_CHANNEL
from tests.fleet import forward_account_events, register_webhook
from tests.scenarios import payloads
from tests.scenarios.conftest import Harness, harness_config, running

TEAM = payloads.TEAM["id"]  # what the fake Slack's auth.test answers
PEOPLE = {"U0ANA": "ana@acme.example", "U0BRUNO": "bruno@acme.example"}


@asynccontextmanager
async def with_own_accounts(
    config: AppConfig, sandbox: SandboxServer, slack: FakeSlack
) -> AsyncIterator[Harness]:
    """The bot started as `serve` starts it (its database brought up to date), the sandbox's
    webhook registered as `ticketbot webhooks register` does (account events read from it)."""
    async with running(config, sandbox, slack) as harness:
        await harness.bot.prepare()
        slack.state.emails.update(PEOPLE)
        register_webhook(sandbox)
        yield harness
        assert harness.bot.single is not None and harness.bot.single.database is not None
        await harness.bot.single.database.aclose()


@pytest.fixture
async def single(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str, tmp_path: Path
) -> AsyncIterator[Harness]:
    config = harness_config(sandbox, fake_slack, clean_redis, ticketbot_data_dir=tmp_path)
    async with with_own_accounts(config, sandbox, fake_slack) as harness:
        yield harness


def user(slack_id: str) -> dict[str, str]:
    name = slack_id.removeprefix("U0").lower()
    return {"id": slack_id, "username": name, "name": name, "team_id": TEAM}


async def connect_own(harness: Harness, slack_id: str, username: str) -> tuple[str, list[str]]:
    seen = len(harness.slack.state.calls)
    await harness.command("connect", user=user(slack_id))
    [answer] = [c for c in harness.slack.state.calls[seen:] if c.method == "response"]
    [button] = [e for b in answer.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert button["text"]["text"] == "Connect your own Jira account"
    token = parse_qs(urlsplit(button["url"]).query)["link_token"][0]
    assert harness.sandbox.state.link_tokens[token]["tenant_id"] == f"{TEAM}:{slack_id}"
    before = set(harness.sandbox.state.profiles)
    async with httpx.AsyncClient(base_url=harness.sandbox.base_url) as browser:
        page = await browser.post(
            "/connect-account", data={"link_token": token, "profile": "jira", "user": username}
        )
    assert page.status_code == 200, page.text
    [account] = set(harness.sandbox.state.profiles) - before
    return account, await forward_account_events(harness)


def patched_as(harness: Harness) -> list[str]:
    return [dict(p.query)["integrated_account_id"] for p in harness.sandbox.state.calls("PATCH")]


async def test_a_person_connects_in_a_single_workspace_and_updates_as_themselves(single: Harness) -> None:
    mine, verdicts = await connect_own(single, "U0ANA", "ana")
    assert verdicts == ["integrated_account:created=ignored", "integrated_account:active=connected"]
    [dm] = [c for c in single.calls("chat.postMessage") if c.args["channel"] == "U0ANA"]
    assert dm.args["text"] == "Your Jira account is connected; your updates now show as you in Jira."

    single.sandbox.state.requests.clear()
    await single.command("update PROJ-42 priority=high", user=user("U0ANA"))
    assert patched_as(single) == [mine]
    ticket = single.sandbox.state.profiles[JIRA.integrated_account_id].tickets["PROJ-42"]
    assert (
        single.sandbox.state.profiles[JIRA.integrated_account_id].last_editors[str(ticket["id"])]["name"]
        == "Ana Lima"
    )

    single.sandbox.state.requests.clear()
    await single.command("update PROJ-41 priority=low", user=user("U0BRUNO"))
    assert patched_as(single) == [JIRA.integrated_account_id]  # personal-preferred: the team's

    seen = len(single.slack.state.calls)
    await single.command("disconnect", user=user("U0ANA"))
    [answer] = [c for c in single.slack.state.calls[seen:] if c.method == "response"]
    assert answer.args["text"].startswith("Your own Jira account is disconnected")
    assert mine not in single.sandbox.state.profiles  # deleted in the unified API too
    single.sandbox.state.requests.clear()
    await single.command("update PROJ-42 priority=low", user=user("U0ANA"))
    assert patched_as(single) == [JIRA.integrated_account_id]


async def test_an_event_for_another_team_or_a_configured_account_attaches_to_nobody(single: Harness) -> None:
    mine, _ = await connect_own(single, "U0ANA", "ana")
    store = single.bot.deps.personal
    assert store is not None
    await store.remove(mine)
    profile = single.sandbox.state.profiles[mine]
    for tenant in ("T0OTHER:U0ANA", f"{TEAM}:not-a-user"):
        profile.tenant_id = tenant
        single.sandbox.state.webhooks.emit_account("integrated_account:active", profile.account_record())
        [verdict] = await forward_account_events(single)
        assert verdict.startswith("integrated_account:active=ignored"), verdict
    shared = single.sandbox.state.profiles[JIRA.integrated_account_id]
    shared.tenant_id = f"{TEAM}:U0ANA"  # the configured account is nobody's own
    single.sandbox.state.webhooks.emit_account("integrated_account:active", shared.account_record())
    assert await forward_account_events(single) == [
        "integrated_account:active=ignored: a workspace's own account is nobody's personal one"
    ]
    assert await store.of_person(TEAM, "U0ANA") == []
    single.sandbox.state.requests.clear()
    await single.command("update PROJ-42 priority=high", user=user("U0ANA"))
    assert patched_as(single) == [JIRA.integrated_account_id]


async def test_deactivated_or_uninstalled_purges_own_connections(single: Harness) -> None:
    store = single.bot.deps.personal
    assert store is not None
    await connect_own(single, "U0ANA", "ana")
    await connect_own(single, "U0BRUNO", "bruno")

    def envelope(event: dict[str, Any]) -> dict[str, Any]:
        return {"type": "event_callback", "team_id": TEAM, "event_id": f"Ev{len(str(event))}", "event": event}

    await single.event(envelope({"type": "user_change", "user": {"id": "U0ANA", "deleted": True}}))
    assert await store.of_person(TEAM, "U0ANA") == []
    assert len(await store.of_person(TEAM, "U0BRUNO")) == 1
    await single.event(envelope({"type": "app_uninstalled"}))
    assert await store.of_person(TEAM, "U0BRUNO") == []


async def test_personal_required_in_a_single_workspace(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str, tmp_path: Path
) -> None:
    required = JIRA.model_copy(update={"identity": "personal-required"})
    config = harness_config(sandbox, fake_slack, clean_redis, jira=required, ticketbot_data_dir=tmp_path)
    async with with_own_accounts(config, sandbox, fake_slack) as harness:
        seen = len(harness.slack.state.calls)
        await harness.command("update PROJ-42 priority=high", user=user("U0BRUNO"))
        told = [c for c in harness.slack.state.calls[seen:] if c.method == "response"]
        assert "connect your own Jira account first with /ticket connect" in str(told[-1].args)
        assert harness.sandbox.state.calls("PATCH") == []
        mine, _ = await connect_own(harness, "U0BRUNO", "bruno")
        await harness.command("update PROJ-42 priority=high", user=user("U0BRUNO"))
        assert patched_as(harness) == [mine]


async def test_without_a_database_own_connections_are_not_offered(harness: Harness) -> None:
    seen = len(harness.slack.state.calls)
    await harness.command("connect")
    [answer] = [c for c in harness.slack.state.calls[seen:] if c.method == "response"]
    assert "not turned on here" in answer.args["text"] and "DATABASE_URL" in answer.args["text"]
    assert harness.sandbox.state.link_tokens == {}


def test_personal_required_without_a_database_is_refused_at_start(tmp_path: Path) -> None:
    config = tmp_path / "ticketbot.yml"
    config.write_text(
        "identity: personal-required\naccounts:\n  jira: {integrated_account_id: acc-1, tool: Jira}\n"
    )
    with pytest.raises(ConfigError, match="personal-required needs people's own connections"):
        build_config(Settings(ticketbot_config=config))
    loaded = build_config(Settings(ticketbot_config=config, ticketbot_data_dir=tmp_path))
    assert loaded.accounts["jira"].identity == "personal-required"  # the file's default applies
    mixed = tmp_path / "mixed.yml"
    mixed.write_text(
        "identity: shared\naccounts:\n"
        "  jira: {integrated_account_id: acc-1}\n"
        "  linear: {integrated_account_id: acc-2, identity: personal-preferred}\n"
    )
    accounts = build_config(Settings(ticketbot_config=mixed)).accounts
    assert {n: a.identity for n, a in accounts.items()} == {"jira": "shared", "linear": "personal-preferred"}
    assert isinstance(accounts["jira"], Account) and JIRA_CHANNEL


async def test_the_preview_and_the_forms_options_read_as_the_person(single: Harness) -> None:
    from tests.scenarios.payloads import block_actions, block_suggestion
    from tests.scenarios.test_views import open_form

    mine, _ = await connect_own(single, "U0ANA", "ana")
    single.sandbox.state.requests.clear()
    await single.command("update PROJ-42 priority=high --preview", user=user("U0ANA"))
    reads = [r for r in single.sandbox.state.calls("GET") if r.path.endswith("/PROJ-42")]
    assert reads and {dict(r.query)["integrated_account_id"] for r in reads} == {mine}
    [shown] = [c for c in single.calls("response") if "Apply" in str(c.args.get("blocks"))]
    [apply] = [
        e
        for b in shown.args["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["text"]["text"] == "Apply"
    ]
    single.sandbox.state.requests.clear()
    await single.interact(
        block_actions(
            apply, channel=JIRA_CHANNEL, response_url=single.slack.response_url(), user=user("U0ANA")
        )
    )
    assert patched_as(single) == [mine]  # applied as shown, as her
    fresh = [r for r in single.sandbox.state.calls("GET") if r.path.endswith("/PROJ-42")]
    assert fresh and {dict(r.query)["integrated_account_id"] for r in fresh} == {mine}

    view = await open_form(single)  # as U0ANA (the payloads' default user)
    single.sandbox.state.requests.clear()
    await single.interact(block_suggestion(view, "field_assignees", "zz-nobody"))
    listed = [dict(r.query)["integrated_account_id"] for r in single.sandbox.state.calls("GET")]
    assert set(listed) <= {mine}  # her account's users (cached with the form), never the team's
