"""Distributed mode end to end, over the real routes: two workspaces installed through
/slack/install and /slack/oauth_redirect (code exchanged at the fake Slack), each connecting its
own sandbox account through a link token and the signed `integrated_account:*` events, each
updating its own tickets; one uninstalls (its data gone), the other is unaffected."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from bot.ops.config import ConfigError, Settings, build_config
from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from bot.store.sql.cipher import new_key
from handlers.app import NOT_INSTALLED
from tests.fleet import (
    ACME,
    ADMIN,
    GLOBEX,
    connect,
    distributed_settings,
    event,
    fleet,
    forward_account_events,
    install,
    running_fleet,
    slash,
)
from tests.scenarios.conftest import Harness

__all__ = ["fleet"]  # the fixture

FORM = "application/x-www-form-urlencoded"


async def test_two_workspaces_install_connect_update_and_one_uninstalls(fleet: Harness) -> None:
    for team in (ACME, GLOBEX):
        answered = await install(fleet, team)
        assert answered.status_code in (200, 302), answered.text
    assert [c.args["code"] for c in fleet.calls("oauth.v2.access")] == [ACME, GLOBEX]

    acme_jira = await connect(fleet, ACME, "jira")
    [dm] = [c for c in fleet.calls("chat.postMessage") if c.args["channel"] == ADMIN]
    assert dm.args["text"].startswith("Jira is connected.")
    globex_linear = await connect(fleet, GLOBEX, "linear")
    # Each DM's example is in that tool's own key and values, never PROJ-42 for Linear.
    [told] = [c for c in fleet.calls("chat.postMessage") if c.args["channel"] == ADMIN][-1:]
    assert told.args["text"].startswith("Linear is connected. Try it in any channel: /ticket update ENG-42 ")
    assert "PROJ" not in told.args["text"]

    # Each workspace updates its own tool's tickets.
    fleet.sandbox.state.requests.clear()
    await fleet.post(
        slash(ACME, "update PROJ-42 priority=high", fleet.slack.response_url()),
        "application/x-www-form-urlencoded",
    )
    await fleet.post(
        slash(GLOBEX, "update ENG-7 priority=urgent", fleet.slack.response_url()),
        "application/x-www-form-urlencoded",
    )
    patches = fleet.sandbox.state.calls("PATCH")
    assert [(p.path, dict(p.query)["integrated_account_id"]) for p in patches] == [
        ("/unified/ticketing/tickets/PROJ-42", acme_jira),
        ("/unified/ticketing/tickets/ENG-7", globex_linear),
    ]

    # ACME's subscriptions and notifications, to be forgotten with it.
    await fleet.post(slash(ACME, "notify on", fleet.slack.response_url()), FORM)
    await fleet.post(slash(ACME, "subscribe priority=High", fleet.slack.response_url()), FORM)
    assert fleet.calls("chat.postMessage")[-1].args["text"].startswith("<@U0ADMIN> subscribed this channel")
    assert fleet.core.redis is not None
    assert [k async for k in fleet.core.redis.scan_iter(match=f"*notify*{ACME}*")]

    # ACME uninstalls: its installation, accounts and cached keys go; GLOBEX goes on.
    assert fleet.bot.distributed is not None
    database = fleet.bot.distributed.database
    await fleet.event(event(ACME, {"type": "app_uninstalled"}))
    async with database.engine.connect() as conn:
        teams = (await conn.execute(text("SELECT team_id FROM slack_bots ORDER BY team_id"))).scalars().all()
        accounts = (
            (await conn.execute(text("SELECT integrated_account_id FROM team_accounts"))).scalars().all()
        )
    assert teams == [GLOBEX] and accounts == [globex_linear]
    assert fleet.core.redis is not None
    left = [k async for k in fleet.core.redis.scan_iter(match=f"*{acme_jira}*")]
    # Only the API budget's window, shared by every deployment on purpose, which ends by itself.
    assert left and all(k.startswith(b"ticketbot:shared:ratelimit:") for k in left)  # no subs either
    assert [k async for k in fleet.core.redis.scan_iter(match=f"*notify*{ACME}*")] == []
    assert await fleet.core.redis.ttl(left[0]) <= 20

    fleet.sandbox.state.requests.clear()
    fleet.slack.state.calls.clear()
    await fleet.post(
        slash(ACME, "update PROJ-42 priority=low", fleet.slack.response_url()),
        "application/x-www-form-urlencoded",
    )
    assert fleet.sandbox.state.calls("PATCH") == []  # nothing for a workspace that left
    [answer] = fleet.slack.state.calls  # Slack would not even send it; if it did, it is told why
    assert answer.method == "response" and answer.args["text"] == NOT_INSTALLED
    await fleet.post(
        slash(GLOBEX, "update ENG-7 priority=low", fleet.slack.response_url()),
        "application/x-www-form-urlencoded",
    )
    assert [p.path for p in fleet.sandbox.state.calls("PATCH")] == ["/unified/ticketing/tickets/ENG-7"]


async def test_an_account_event_for_a_tenant_not_installed_does_nothing(fleet: Harness) -> None:
    await install(fleet, ACME)
    body = json.dumps(
        {
            "id": "evt_1",
            "event": "integrated_account:active",
            "created_at": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
            "payload": {"id": "ia-stranger", "tenant_id": "T0STRANGER", "integration": {"name": "jira"}},
        }
    ).encode()
    fleet.slack.state.calls.clear()
    response = await fleet.truto_event(body)
    assert response.text == "ignored: not installed"
    assert fleet.slack.state.calls == []
    assert fleet.bot.distributed is not None
    assert await fleet.bot.distributed.workspaces.accounts.by_account("ia-stranger") is None


def test_a_bot_token_and_a_client_id_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        build_config(
            Settings(
                slack_bot_token="xoxb-1-2-3",
                slack_client_id="1234.5678",
                slack_client_secret="s",
                ticketbot_encryption_key=new_key(),
            )
        )
    assert "SLACK_BOT_TOKEN and SLACK_CLIENT_ID are both set" in str(caught.value)
    with pytest.raises(ConfigError, match="TICKETBOT_ENCRYPTION_KEY: not set"):
        build_config(Settings(slack_client_id="1234.5678", slack_client_secret="s"))


async def test_a_rotating_token_is_refreshed_before_it_expires_and_used(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str, tmp_path: Path
) -> None:
    # Tokens live 12 h (the fake's expires_in); refreshing 13 h ahead means: at once.
    settings = distributed_settings(
        sandbox, fake_slack, clean_redis, tmp_path, slack_token_rotation_minutes=780
    )
    async with running_fleet(settings, sandbox, fake_slack) as rotating:
        await install(rotating, f"{ACME}.rotating")
        [first] = rotating.calls("oauth.v2.access")
        rotating.slack.state.calls.clear()
        await rotating.event(event(ACME, {"type": "app_home_opened", "user": ADMIN, "tab": "home"}))
        [refresh] = rotating.calls("oauth.v2.access")
        assert refresh.args["grant_type"] == "refresh_token"
        assert refresh.args["refresh_token"] == first.answer["refresh_token"]
        [published] = rotating.calls("views.publish")
        assert published.authorization == f"Bearer {refresh.answer['access_token']}"  # the new one
        assert rotating.bot.distributed is not None
        database = rotating.bot.distributed.database
        async with database.engine.connect() as conn:
            stored = (
                (await conn.execute(text("SELECT bot_token FROM slack_bots ORDER BY id DESC")))
                .scalars()
                .first()
            )
        assert stored.startswith("fernet:") and refresh.answer["access_token"] not in stored


async def test_an_org_wide_install_serves_every_workspace_of_the_org(fleet: Harness) -> None:
    await install(fleet, "E0GRID.org")
    team = "T0GRIDWS"
    body = event(team, {"type": "app_home_opened", "user": ADMIN, "tab": "home"})
    body |= {"enterprise_id": "E0GRID", "is_enterprise_install": True}
    body["authorizations"] = [
        {
            "enterprise_id": "E0GRID",
            "team_id": None,
            "user_id": "U0BOT",
            "is_bot": True,
            "is_enterprise_install": True,
        }
    ]
    fleet.slack.state.calls.clear()
    await fleet.event(body)
    [published] = fleet.calls("views.publish")
    assert published.authorization.startswith("Bearer xoxb-E0GRID-")
    [button] = [e for b in published.args["view"]["blocks"] if b["type"] == "actions" for e in b["elements"]]
    link_token = button["url"].rsplit("=", 1)[1]
    assert fleet.sandbox.state.link_tokens[link_token]["tenant_id"] == "E0GRID"  # the org connects once


async def test_a_broken_connection_is_told_with_reconnect_and_a_deleted_one_forgotten(fleet: Harness) -> None:
    await install(fleet, ACME)
    account = await connect(fleet, ACME, "jira")
    fleet.slack.state.calls.clear()
    async with httpx.AsyncClient(base_url=fleet.sandbox.base_url) as tool:
        answered = await tool.post(
            "/_sandbox/account-events",
            json={"account": account, "event": "authentication_error", "last_error": "token revoked"},
        )
    assert answered.status_code == 200
    assert await forward_account_events(fleet) == ["integrated_account:authentication_error=told"]
    [dm] = fleet.calls("chat.postMessage")
    assert dm.args["channel"] == ADMIN
    assert dm.args["text"] == (
        "Jira can no longer sign in (its credentials expired or were revoked): token revoked. "
        "Reconnect it to keep updating tickets from Slack."
    )
    [button] = dm.args["blocks"][1]["elements"]
    token = button["url"].rsplit("=", 1)[1]
    assert fleet.sandbox.state.link_tokens[token] == {"tenant_id": None, "integrated_account_id": account}
    # Until reconnected, the workspace's Home says so and updates name no account.
    assert fleet.bot.distributed is not None
    [stored] = await fleet.bot.distributed.workspaces.accounts.of_tenant(ACME)
    assert stored.state == "authentication error"

    async with httpx.AsyncClient(base_url=fleet.sandbox.base_url) as browser:
        await browser.post("/connect-account", data={"link_token": token})
    assert await forward_account_events(fleet) == [
        "integrated_account:updated=ignored",
        "integrated_account:active=connected",
    ]
    [stored] = await fleet.bot.distributed.workspaces.accounts.of_tenant(ACME)
    assert stored.active

    async with httpx.AsyncClient(base_url=fleet.sandbox.base_url) as tool:
        await tool.post("/_sandbox/account-events", json={"account": account, "event": "deleted"})
    assert await forward_account_events(fleet) == ["integrated_account:deleted=removed"]
    assert await fleet.bot.distributed.workspaces.accounts.of_tenant(ACME) == []


async def test_someone_who_is_not_an_admin_is_told_who_can_connect(fleet: Harness) -> None:
    await install(fleet, ACME)
    await fleet.event(event(ACME, {"type": "app_home_opened", "user": "U0ANA", "tab": "home"}))
    [published] = fleet.calls("views.publish")
    blocks = published.args["view"]["blocks"]
    assert not [b for b in blocks if b["type"] == "actions"]
    assert any(
        "Ask <@U0ADMIN> (who added ticketbot) or another workspace admin or owner to connect it from this tab."
        in str(b)
        for b in blocks
    )
    assert fleet.sandbox.state.link_tokens == {}  # no link minted for someone who cannot use it


async def test_an_update_is_acked_without_bolt_for_an_installed_workspace_only(fleet: Harness) -> None:
    from tests.scenarios.test_fast_ack import bolt_dispatches

    await install(fleet, ACME)
    jira = await connect(fleet, ACME, "jira")
    fleet.sandbox.state.requests.clear()
    with bolt_dispatches(fleet) as dispatched:
        response = await fleet.post(
            slash(ACME, "update PROJ-42 priority=high", fleet.slack.response_url()), FORM
        )
        assert response.status_code == 200 and response.content == b""
        assert dispatched == []  # the workspace's own deps, straight to its job
        [patch] = fleet.sandbox.state.calls("PATCH")
        assert dict(patch.query)["integrated_account_id"] == jira
        assert fleet.calls("chat.postMessage")[-1].authorization.startswith(f"Bearer xoxb-{ACME}-")
        await fleet.post(slash("T0NOTHERE", "update PROJ-42 priority=low", fleet.slack.response_url()), FORM)
        assert len(dispatched) == 1  # not installed: Bolt's to refuse
    assert len(fleet.sandbox.state.calls("PATCH")) == 1


async def test_a_change_in_one_process_reaches_the_others_at_once(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str, tmp_path: Path
) -> None:
    """Two replicas on one database and Redis: settings saved or an uninstall in one are seen by
    the other at once (announced over Redis), not after its 10 s copy expires."""
    import asyncio

    from bot.domain.workspace_settings import WorkspaceSettings

    settings = distributed_settings(sandbox, fake_slack, clean_redis, tmp_path)
    async with (
        running_fleet(settings, sandbox, fake_slack) as one,
        running_fleet(settings, sandbox, fake_slack) as two,
    ):
        assert one.bot.distributed is not None and two.bot.distributed is not None
        await install(one, ACME)
        ready = asyncio.Event()
        listening = asyncio.create_task(two.bot.distributed.workspaces.listen(ready))
        try:
            await asyncio.wait_for(ready.wait(), 5)
            other = two.bot.distributed.workspaces
            assert (await other.settings(ACME)).users == ()  # read, and kept for 10 s
            chosen = WorkspaceSettings(users=("U0ADMIN",))
            await one.bot.distributed.workspaces.save_settings(ACME, chosen, "U0ADMIN")
            for _ in range(100):
                if (await other.settings(ACME)).users == ("U0ADMIN",):
                    break
                await asyncio.sleep(0.01)
            assert (await other.settings(ACME)).users == ("U0ADMIN",)

            assert await other.bot(ACME) is not None
            await one.event(event(ACME, {"type": "app_uninstalled"}))
            for _ in range(100):
                if await other.bot(ACME) is None:
                    break
                await asyncio.sleep(0.01)
            assert await other.bot(ACME) is None  # the other replica stops serving it too
        finally:
            listening.cancel()


async def test_a_workflow_step_runs_with_its_own_workspaces_account_and_token(fleet: Harness) -> None:
    from tests.scenarios.test_workflow_steps import executed

    for team in (ACME, GLOBEX):
        await install(fleet, team)
    acme_jira = await connect(fleet, ACME, "jira")
    await connect(fleet, GLOBEX, "linear")
    fleet.sandbox.state.requests.clear()

    def step(team: str, execution: str) -> dict[str, object]:
        envelope = executed(
            "update_ticket", {"ticket": "PROJ-42", "status": "Done", "updated_by": ADMIN}, execution
        )
        envelope["team_id"] = team
        envelope["authorizations"] = [{"team_id": team, "user_id": "U0BOT", "is_bot": True}]
        return envelope

    await fleet.event(step(GLOBEX, "Fx0GLOBEX01"))  # GLOBEX has no Jira: ACME's is out of its reach
    assert fleet.sandbox.state.calls("PATCH") == []
    [refused] = fleet.calls("functions.completeError")
    assert refused.args["function_execution_id"] == "Fx0GLOBEX01"
    assert refused.authorization.startswith(f"Bearer xoxb-{GLOBEX}-")

    await fleet.event(step(ACME, "Fx0ACME0001"))
    [patch] = fleet.sandbox.state.calls("PATCH")
    assert dict(patch.query)["integrated_account_id"] == acme_jira
    [done] = fleet.calls("functions.completeSuccess")
    assert done.args["function_execution_id"] == "Fx0ACME0001"
    assert done.authorization.startswith(f"Bearer xoxb-{ACME}-")


async def test_a_workspace_without_a_tool_is_told_to_connect_it_from_home(fleet: Harness) -> None:
    """Not the single-workspace advice (TRUTO_INTEGRATED_ACCOUNT_ID) nobody there can follow."""
    await install(fleet, ACME)
    answer = await fleet.post(slash(ACME, "update PROJ-42 priority=high", fleet.slack.response_url()), FORM)
    said = answer.json()["text"]  # in the ack
    assert "TRUTO_INTEGRATED_ACCOUNT_ID" not in said
    assert "connect it from ticketbot's Home tab (Connect your tracker)" in said
    assert fleet.sandbox.state.calls("PATCH") == []
