"""Act as yourself (distributed mode): a person connects their own account of the workspace's
tool, their changes go through it (the tool records them, its permissions apply), reads follow
them, and the workspace's identity policy decides what happens for someone without one."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.fleet import ACME, ADMIN, GLOBEX, connect, event, fleet, forward_account_events, install, slash
from tests.scenarios.conftest import Harness

__all__ = ["fleet"]  # the fixture

FORM = "application/x-www-form-urlencoded"
PEOPLE = {"U0ANA": "ana@acme.example", "U0BRUNO": "bruno@acme.example", "U0CARLA": "carla@acme.example"}


def as_user(text: str, user: str, fleet: Harness, team: str = ACME, channel: str = "C0GENERAL") -> str:
    body = slash(team, text, fleet.slack.response_url(), channel)
    return body.replace(f"user_id={ADMIN}", f"user_id={user}")


async def said(fleet: Harness, text: str, user: str) -> str:
    """What `user` was answered, in the ack or through the response URL."""
    seen = len(fleet.slack.state.calls)
    answer = await fleet.post(as_user(text, user, fleet), FORM)
    if answer.content:
        return str(answer.json()["text"])
    told = [c for c in fleet.slack.state.calls[seen:] if c.method in ("response", "chat.postMessage")]
    return str(told[-1].args["text"])


async def connect_own(fleet: Harness, user: str, username: str, **choices: str) -> tuple[str, list[str]]:
    """`user` runs /ticket connect and signs in on the connect page: their account's id, and the
    verdicts of the events that followed."""
    seen = len(fleet.slack.state.calls)
    await fleet.post(as_user("connect", user, fleet), FORM)
    [answer] = [c for c in fleet.slack.state.calls[seen:] if c.method == "response"]
    [button] = [e for b in answer.args["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert button["text"]["text"] == "Connect your own Jira account"
    token = parse_qs(urlsplit(button["url"]).query)["link_token"][0]
    assert fleet.sandbox.state.link_tokens[token]["tenant_id"] == f"{ACME}:{user}"  # whose, and where
    before = set(fleet.sandbox.state.profiles)
    async with httpx.AsyncClient(base_url=fleet.sandbox.base_url) as browser:
        page = await browser.post(
            "/connect-account", data={"link_token": token, "profile": "jira", "user": username, **choices}
        )
    assert page.status_code == 200, page.text
    [account] = set(fleet.sandbox.state.profiles) - before
    return account, await forward_account_events(fleet)


async def acme_with_jira(fleet: Harness) -> str:
    await install(fleet, ACME)
    fleet.slack.state.emails.update(PEOPLE)
    return await connect(fleet, ACME, "jira")


async def require_own_accounts(fleet: Harness) -> None:
    """ACME's admin sets the identity policy to personal-required (the Home tab's settings)."""
    workspaces = fleet.bot.distributed.workspaces  # type: ignore[union-attr]
    current = await workspaces.settings(ACME)
    await workspaces.save_settings(ACME, current.model_copy(update={"identity": "personal-required"}), ADMIN)


def patches(fleet: Harness) -> list[Any]:
    return fleet.sandbox.state.calls("PATCH")


async def test_a_person_connects_and_their_update_is_made_as_them(fleet: Harness) -> None:
    shared = await acme_with_jira(fleet)
    mine, verdicts = await connect_own(fleet, "U0ANA", "ana")
    assert verdicts == ["integrated_account:created=ignored", "integrated_account:active=connected"]
    dm = [c for c in fleet.calls("chat.postMessage") if c.args["channel"] == "U0ANA"][-1]
    assert dm.args["text"] == "Your Jira account is connected; your updates now show as you in Jira."

    fleet.sandbox.state.requests.clear()
    await fleet.post(as_user("update PROJ-42 priority=high", "U0ANA", fleet), FORM)
    [patch] = patches(fleet)
    assert dict(patch.query)["integrated_account_id"] == mine  # her own account, not the team's
    ticket = fleet.sandbox.state.profiles[shared].tickets["PROJ-42"]
    assert ticket["priority"]["name"] == "High"  # the same Jira the workspace uses
    assert fleet.sandbox.state.profiles[shared].last_editors[str(ticket["id"])]["name"] == "Ana Lima"
    [record] = await fleet.core.service.audit.for_tenant(ACME).read(ticket="PROJ-42")  # type: ignore[union-attr]
    assert (record.user_id, record.via) == ("U0ANA", "personal")
    told = [c for c in fleet.slack.state.calls if c.method in ("chat.postMessage", "response")]
    assert "as themselves in Jira" in str(told[-1].args)  # the card says how it reached the tool

    # Someone without a connection of their own, under the default policy: the team's account.
    fleet.sandbox.state.requests.clear()
    await fleet.post(as_user("update PROJ-41 priority=low", "U0BRUNO", fleet), FORM)
    [patch] = patches(fleet)
    assert dict(patch.query)["integrated_account_id"] == shared

    # Ana reads through her account too; then disconnects: removed in the unified API as well.
    fleet.sandbox.state.requests.clear()
    await fleet.post(as_user("show PROJ-42", "U0ANA", fleet), FORM)
    reads = [r for r in fleet.sandbox.state.calls("GET") if r.path.endswith("/PROJ-42")]
    assert reads and all(dict(r.query)["integrated_account_id"] == mine for r in reads)
    assert (await said(fleet, "disconnect", "U0ANA")).startswith("Your own Jira account is disconnected")
    assert mine not in fleet.sandbox.state.profiles
    fleet.sandbox.state.requests.clear()
    await fleet.post(as_user("update PROJ-42 priority=low", "U0ANA", fleet), FORM)
    assert [dict(p.query)["integrated_account_id"] for p in patches(fleet)] == [shared]


async def test_personal_required_refuses_someone_without_an_account_of_their_own(fleet: Harness) -> None:
    await acme_with_jira(fleet)
    await require_own_accounts(fleet)
    fleet.sandbox.state.requests.clear()
    answer = await said(fleet, "update PROJ-42 priority=high", "U0BRUNO")
    assert "connect your own Jira account first with /ticket connect" in answer
    assert patches(fleet) == []


async def test_the_tools_permissions_are_the_persons(fleet: Harness) -> None:
    """Carla may see OPS only: PROJ-42 is not found for her; Dan may browse, not edit: the tool's
    refusal is his, told apart from the bot's own settings."""
    await acme_with_jira(fleet)
    fleet.slack.state.emails["U0DAN"] = "bruno@acme.example"
    await connect_own(fleet, "U0CARLA", "carla", projects="OPS")
    answer = await said(fleet, "show PROJ-42", "U0CARLA")
    assert "PROJ-42" in answer and "Login fails" not in answer  # not found; nothing of it shown
    await connect_own(fleet, "U0DAN", "bruno", read_only="1")
    fleet.sandbox.state.requests.clear()
    answer = await said(fleet, "update PROJ-42 priority=high", "U0DAN")
    assert answer.startswith("Jira does not let you change PROJ-42 (your account lacks permission)")


async def test_a_connection_for_one_workspace_never_attaches_elsewhere(fleet: Harness) -> None:
    await acme_with_jira(fleet)
    await install(fleet, GLOBEX)
    store = fleet.bot.deps.personal
    assert store is not None
    mine, _ = await connect_own(fleet, "U0ANA", "ana")
    assert [c.tenant_id for c in await store.of_person(ACME, "U0ANA")] == [ACME]
    assert await store.of_person(GLOBEX, "U0ANA") == []
    # A person's account event naming a workspace without that tool, or no person at all: nothing.
    profile = fleet.sandbox.state.profiles[mine]
    for tenant in (f"{GLOBEX}:U0ANA", f"{ACME}:not-a-user"):
        profile.tenant_id = tenant
        fleet.sandbox.state.webhooks.emit_account("integrated_account:active", profile.account_record())
        assert (await forward_account_events(fleet))[0].startswith("integrated_account:active=ignored")
    assert await store.of_person(GLOBEX, "U0ANA") == []

    # Deactivated in Slack, then the workspace uninstalls: nothing of anyone's is kept.
    await fleet.event(event(ACME, {"type": "user_change", "user": {"id": "U0ANA", "deleted": True}}))
    assert await store.of_person(ACME, "U0ANA") == []
    await connect_own(fleet, "U0CARLA", "carla")
    await fleet.event(event(ACME, {"type": "app_uninstalled"}))
    assert await store.of_person(ACME, "U0CARLA") == []


async def test_the_home_tab_offers_your_own_account(fleet: Harness) -> None:
    from tests.scenarios.payloads import block_actions

    await acme_with_jira(fleet)
    fleet.slack.state.calls.clear()
    await fleet.event(event(ACME, {"type": "app_home_opened", "user": "U0ANA", "tab": "home"}))
    [home] = fleet.calls("views.publish")
    [button] = [
        e
        for b in home.args["view"]["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "own_account"
    ]
    assert (button["text"]["text"], button["value"]) == ("Connect your own Jira account", "connect")

    def personal() -> list[dict[str, Any]]:
        return [t for t in fleet.sandbox.state.link_tokens.values() if ":" in str(t["tenant_id"])]

    assert personal() == []  # minted only on a click
    click = block_actions(
        {"action_id": "own_account", "block_id": "b", "type": "button", "value": "connect"},
        channel="D0HOME",
        response_url=fleet.slack.response_url(),
        user={"id": "U0ANA", "username": "ana", "name": "ana", "team_id": ACME},
    )
    click.pop("container"), click.pop("channel"), click.pop("response_url")
    click["team"] = {"id": ACME, "domain": "acme"}
    await fleet.interact(click)
    [dm] = [c for c in fleet.calls("chat.postMessage") if c.args["channel"] == "U0ANA"]
    [token] = personal()
    assert token["tenant_id"] == f"{ACME}:U0ANA" and "Connect your own Jira account" in str(dm.args["blocks"])


async def test_an_unfurl_reads_as_the_person_who_shared_the_link(fleet: Harness) -> None:
    await acme_with_jira(fleet)
    await connect_own(fleet, "U0CARLA", "carla", projects="OPS")
    await connect_own(fleet, "U0ANA", "ana")

    def shared_by(user: str, ts: str) -> dict[str, Any]:
        link = {"url": "https://acme.atlassian.net/browse/PROJ-42", "domain": "acme.atlassian.net"}
        inner = {
            "type": "link_shared",
            "channel": "C0GENERAL",
            "user": user,
            "message_ts": ts,
            "links": [link],
        }
        return event(ACME, inner)

    fleet.slack.state.calls.clear()
    await fleet.event(shared_by("U0CARLA", "1.1"))
    assert fleet.calls("chat.unfurl") == []  # her account may not see PROJ-42: nothing of it shown
    await fleet.event(shared_by("U0ANA", "1.2"))
    [unfurl] = fleet.calls("chat.unfurl")
    assert "Login fails with SSO" in str(unfurl.args["unfurls"])


async def test_the_edit_form_reads_as_the_person(fleet: Harness) -> None:
    await acme_with_jira(fleet)
    mine, _ = await connect_own(fleet, "U0CARLA", "carla", projects="OPS")
    fleet.sandbox.state.requests.clear()
    fleet.slack.state.calls.clear()
    await fleet.post(as_user("edit PROJ-42", "U0CARLA", fleet), FORM)
    reads = [r for r in fleet.sandbox.state.calls("GET") if r.path.endswith("/PROJ-42")]
    assert reads and all(dict(r.query)["integrated_account_id"] == mine for r in reads)
    [shown] = fleet.calls("views.update")
    assert "Login fails" not in str(shown.args["view"])  # not found for her: nothing of it shown


async def test_under_personal_required_a_subscription_tells_only_what_its_maker_can_read(
    fleet: Harness,
) -> None:
    from tests.scenarios.payloads import record_event

    shared = await acme_with_jira(fleet)
    await require_own_accounts(fleet)
    await connect_own(fleet, "U0ANA", "ana")
    await connect_own(fleet, "U0CARLA", "carla", projects="OPS")
    fleet.slack.state.memberships.update({"U0ANA": ["C0ANA"], "U0CARLA": ["C0CARLA"]})
    for user, channel in (("U0ANA", "C0ANA"), ("U0CARLA", "C0CARLA")):
        await fleet.post(as_user("subscribe priority=Highest", user, fleet, channel=channel), FORM)
    fleet.slack.state.calls.clear()
    fleet.sandbox.state.profiles[shared].tickets["PROJ-42"]["priority"] = {"id": "jp1", "name": "Highest"}
    await fleet.truto_event(record_event("updated", "PROJ-42", account=shared))
    told = {c.args["channel"] for c in fleet.calls("chat.postMessage")}
    assert "C0ANA" in told and "C0CARLA" not in told  # Carla's own account cannot read PROJ-42


async def test_a_bulk_update_under_personal_required_is_refused_once(fleet: Harness) -> None:
    await acme_with_jira(fleet)
    await require_own_accounts(fleet)
    fleet.sandbox.state.requests.clear()
    answer = await said(fleet, "update PROJ-1..PROJ-5 priority=high", "U0BRUNO")
    assert "connect your own Jira account first with /ticket connect" in answer
    assert fleet.sandbox.state.calls() == []  # not a ticket read, nothing sent


async def test_a_persons_broken_account_is_told_with_reconnect(fleet: Harness) -> None:
    await acme_with_jira(fleet)
    mine, _ = await connect_own(fleet, "U0ANA", "ana")
    async with httpx.AsyncClient(base_url=fleet.sandbox.base_url) as tool:
        await tool.post("/_sandbox/account-events", json={"account": mine, "event": "authentication_error"})
    assert await forward_account_events(fleet) == ["integrated_account:authentication_error=told"]
    dm = [c for c in fleet.calls("chat.postMessage") if c.args["channel"] == "U0ANA"][-1]
    assert dm.args["text"].startswith("Your Jira account can no longer sign in")
    fleet.slack.state.calls.clear()
    await fleet.event(event(ACME, {"type": "app_home_opened", "user": "U0ANA", "tab": "home"}))
    [home] = fleet.calls("views.publish")
    buttons = [e for b in home.args["view"]["blocks"] if b["type"] == "actions" for e in b["elements"]]
    [reconnect] = [b for b in buttons if b["text"]["text"] == "Reconnect"]
    assert "link_token=" in reconnect["url"]
    # Meanwhile her changes go through the workspace's account (the default policy).
    fleet.sandbox.state.requests.clear()
    await fleet.post(as_user("update PROJ-42 priority=low", "U0ANA", fleet), FORM)
    [patch] = patches(fleet)
    assert dict(patch.query)["integrated_account_id"] != mine


async def test_a_ticket_is_created_as_the_person_with_their_permissions(fleet: Harness) -> None:
    shared = await acme_with_jira(fleet)
    mine, _ = await connect_own(fleet, "U0ANA", "ana")
    line = 'create "Made as Ana" project=PROJ type=Bug cf.severity=minor'
    fleet.sandbox.state.requests.clear()
    await fleet.post(as_user(line, "U0ANA", fleet), FORM)
    [post] = fleet.sandbox.state.calls("POST", "/unified/ticketing/tickets")
    assert dict(post.query)["integrated_account_id"] == mine  # her own account
    created = fleet.sandbox.state.profiles[shared].tickets["PROJ-61"]  # in the Jira the team uses
    assert created["created_by"]["name"] == "Ana Lima"  # the tool records her as its creator
    [record] = await fleet.core.service.audit.for_tenant(ACME).read(ticket="PROJ-61")  # type: ignore[union-attr]
    assert (record.user_id, record.via, record.status) == ("U0ANA", "personal", 201)
    told = [c for c in fleet.slack.state.calls if c.method in ("chat.postMessage", "response")]
    assert "as themselves in Jira" in str(told[-1].args)
    # Carla may use OPS only: the tool refuses her a PROJ ticket, in words that say it is hers.
    await connect_own(fleet, "U0CARLA", "carla", projects="OPS")
    answer = await said(fleet, line.replace("Made as Ana", "Made as Carla"), "U0CARLA")
    assert answer.startswith(
        "Jira does not let you create Jira tickets there (your account lacks permission)"
    )
    # Under personal-required, someone without an account of their own creates nothing.
    await require_own_accounts(fleet)
    fleet.sandbox.state.requests.clear()
    answer = await said(fleet, line, "U0BRUNO")
    assert "connect your own Jira account first with /ticket connect" in answer
    assert fleet.sandbox.state.calls("POST", "/unified/ticketing/tickets") == []
