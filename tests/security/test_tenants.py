"""Distributed mode: one workspace cannot reach another's tickets, cards or turn.

Each attack is a real signed request over the app's routes: a card's button value minted in one
workspace and replayed from another, a unified API webhook for one workspace's account, and a
flood from one workspace while another's job waits."""

from __future__ import annotations

from typing import Any

from bot.store.queue import Job
from handlers.kit.job_queue import account_share
from tests.fleet import ACME, ADMIN, GLOBEX, connect, fleet, install, slash
from tests.scenarios.conftest import Harness, last
from tests.scenarios.payloads import block_actions, record_event

__all__ = ["fleet"]  # the fixture

FORM = "application/x-www-form-urlencoded"


async def two_jira_workspaces(fleet: Harness) -> tuple[str, str]:
    """ACME and GLOBEX, each with a Jira of its own (so both name their account `jira`)."""
    for team in (ACME, GLOBEX):
        await install(fleet, team)
    return await connect(fleet, ACME, "jira"), await connect(fleet, GLOBEX, "jira")


def status_click(card: list[dict[str, Any]], team: str, response_url: str) -> dict[str, Any]:
    actions = next(b for b in card if b["type"] == "actions")
    select = next(e for e in actions["elements"] if e["action_id"] == "ticket_status_select")
    payload = block_actions(
        {
            "action_id": "ticket_status_select",
            "block_id": actions.get("block_id", ""),
            "type": "static_select",
            "selected_option": {"text": {"type": "plain_text", "text": "In Review"}, "value": "js3"},
            **({"value": select["value"]} if "value" in select else {}),
        },
        channel="C0GENERAL",
        response_url=response_url,
        user={"id": ADMIN, "username": "admin", "name": "admin", "team_id": team},
    )
    payload["team"] = {"id": team, "domain": team.lower()}
    return payload


async def test_a_card_minted_in_one_workspace_is_refused_in_another(fleet: Harness) -> None:
    acme_jira, _ = await two_jira_workspaces(fleet)
    await fleet.post(slash(ACME, "show PROJ-42", fleet.slack.response_url()), FORM)
    card = last(fleet.calls("response"))["blocks"]

    fleet.reset_counts()
    await fleet.interact(status_click(card, GLOBEX, fleet.slack.response_url()))
    assert fleet.sandbox.state.calls("PATCH") == []  # GLOBEX's jira untouched, ACME's too
    assert "not valid any more" in last(fleet.calls("response"))["text"]

    fleet.reset_counts()  # the same click in its own workspace works
    await fleet.interact(status_click(card, ACME, fleet.slack.response_url()))
    [patch] = fleet.sandbox.state.calls("PATCH")
    assert dict(patch.query)["integrated_account_id"] == acme_jira


async def test_a_webhook_for_one_workspaces_account_touches_only_its_cards(fleet: Harness) -> None:
    acme_jira, globex_jira = await two_jira_workspaces(fleet)
    await fleet.post(slash(ACME, "update PROJ-42 priority=high", fleet.slack.response_url()), FORM)
    assert fleet.calls("chat.postMessage")[-1].authorization.startswith(f"Bearer xoxb-{ACME}-")

    fleet.reset_counts()  # the same ticket key in GLOBEX's Jira: no card of GLOBEX shows it
    response = await fleet.truto_event(record_event("updated", "PROJ-42", account=globex_jira))
    assert response.text == "no cards" and fleet.slack.state.calls == []

    fleet.sandbox.state.profiles[acme_jira].tickets["PROJ-42"]["status"] = {"id": "js4", "name": "Done"}
    response = await fleet.truto_event(record_event("updated", "PROJ-42", account=acme_jira))
    assert response.text == "queued"
    [update] = fleet.calls("chat.update")
    assert update.authorization.startswith(f"Bearer xoxb-{ACME}-")  # as ACME's bot, in ACME


def test_each_workspace_has_a_share_of_its_own() -> None:
    share = account_share(None)  # type: ignore[arg-type]  # jobs with a tenant need no routing

    def job(tenant: str, **more: Any) -> Job:
        return Job(id="1-0", data={"tenant": tenant, "account": "jira", **more})

    assert share(job(ACME)) == f"tenant:{ACME}"
    assert share(job(GLOBEX)) == f"tenant:{GLOBEX}"  # both name their account `jira`
    assert share(job(ACME, surface="bulk")) == f"tenant:{ACME}/bulk"


async def test_an_edit_form_opened_in_one_workspace_cannot_be_submitted_from_another(fleet: Harness) -> None:
    from tests.scenarios.payloads import view_submission
    from tests.scenarios.test_views import option, unchanged_state

    acme_jira, _ = await two_jira_workspaces(fleet)
    await fleet.post(slash(ACME, "edit PROJ-42", fleet.slack.response_url()), FORM)
    update = last(fleet.calls("views.update"))
    view = {**update["view"], "id": update["view_id"]}
    values = unchanged_state(view)
    values["field_priority"]["value"]["selected_option"] = option("jp1", "Highest")
    user = {"id": ADMIN, "username": "admin", "name": "admin"}

    fleet.reset_counts()
    replayed = view_submission(view, values, {**user, "team_id": GLOBEX})
    replayed["team"], replayed["view"]["team_id"] = {"id": GLOBEX, "domain": "globex"}, GLOBEX
    response = await fleet.interact(replayed)
    assert response.json()["response_action"] == "errors"
    assert fleet.sandbox.state.calls("PATCH") == []

    own = view_submission(view, values, {**user, "team_id": ACME})
    own["team"], own["view"]["team_id"] = {"id": ACME, "domain": "acme"}, ACME
    await fleet.interact(own)
    [patch] = fleet.sandbox.state.calls("PATCH")
    assert dict(patch.query)["integrated_account_id"] == acme_jira


async def test_a_previews_apply_minted_in_one_workspace_is_refused_in_another(fleet: Harness) -> None:
    await two_jira_workspaces(fleet)
    await fleet.post(slash(ACME, "update PROJ-42 priority=high --preview", fleet.slack.response_url()), FORM)
    preview = last(fleet.calls("response"))["blocks"]
    actions = next(b for b in preview if b["type"] == "actions")
    apply = next(e for e in actions["elements"] if e["action_id"] == "ticket_preview_apply")
    click = block_actions(
        {
            "action_id": apply["action_id"],
            "block_id": actions.get("block_id", ""),
            "type": "button",
            "value": apply["value"],
        },
        channel="C0GENERAL",
        response_url=fleet.slack.response_url(),
        user={"id": ADMIN, "username": "admin", "name": "admin", "team_id": GLOBEX},
    )
    click["team"] = {"id": GLOBEX, "domain": "globex"}
    fleet.reset_counts()
    await fleet.interact(click)
    assert fleet.sandbox.state.calls("PATCH") == []
    said = [str(c.args.get("text")) for c in fleet.calls("response")]
    assert said == ["This preview is gone (applied, cancelled, or more than an hour old). Nothing was sent."]
    click["team"], click["user"]["team_id"] = {"id": ACME, "domain": "acme"}, ACME
    await fleet.interact(click)  # the preview is still there for its own workspace
    [patch] = fleet.sandbox.state.calls("PATCH")
    assert patch.body == {"priority": {"id": "jp2", "name": "High"}}


async def test_connection_events_unsigned_or_for_another_workspaces_account_change_nothing(
    fleet: Harness,
) -> None:
    import json
    import time as clock

    from tests.scenarios.payloads import sign_truto

    acme_jira, _ = await two_jira_workspaces(fleet)
    body = json.dumps(
        {
            "id": "evt_takeover",
            "event": "integrated_account:active",
            "created_at": clock.strftime("%Y-%m-%d %H:%M:%S", clock.gmtime()),
            "payload": {"id": acme_jira, "tenant_id": GLOBEX, "integration": {"name": "jira"}},
        }
    ).encode()
    unsigned = await fleet.truto_event(body, headers={"Content-Type": "application/json"})
    assert unsigned.status_code == 401
    forged = await fleet.truto_event(body, headers=sign_truto(body, "not-the-secret"))
    assert forged.status_code == 401
    signed = await fleet.truto_event(body)  # a real delivery naming another workspace's account
    assert signed.text == "ignored: not this tenant's"
    assert fleet.bot.distributed is not None
    owner = await fleet.bot.distributed.workspaces.accounts.by_account(acme_jira)
    assert owner is not None and owner.tenant_id == ACME


# Every kind of key the bot writes for a workspace (the part after the deployment's namespace).
WORKSPACE_KEYS = {"slack", "audit", "undo", "connect", "notify", "subs", "digests", "cards", "quota"}


async def test_uninstall_leaves_no_key_of_that_workspace(fleet: Harness) -> None:
    from tests.fleet import event

    acme_jira, globex_jira = await two_jira_workspaces(fleet)
    fleet.slack.state.memberships[ADMIN] = ["C0GENERAL"]
    for text in ("update PROJ-42 priority=high", "notify on", "subscribe priority=High --digest daily 09:00"):
        await fleet.post(slash(ACME, text, fleet.slack.response_url()), FORM)
    await fleet.event(event(ACME, {"type": "app_home_opened", "user": ADMIN, "tab": "home"}))
    await fleet.post(slash(GLOBEX, "update PROJ-41 priority=high", fleet.slack.response_url()), FORM)
    redis = fleet.core.redis
    assert redis is not None

    async def keys_naming(*names: str) -> list[str]:
        found = [k.decode() async for k in redis.scan_iter(match="ticketbot:*", count=1000)]
        return [k for k in found if any(n in k for n in names) and not k.startswith("ticketbot:shared:")]

    def kinds(found: list[str]) -> set[str]:  # in the job stream's slot, `{ns:jobs}` is two parts
        return {k.split(":")[3] if k.split(":")[2] == "jobs}" else k.split(":")[2] for k in found}

    before = await keys_naming(ACME, acme_jira)
    assert kinds(before) | {"digests"} >= WORKSPACE_KEYS, sorted(kinds(before))
    digests = [k.decode() async for k in redis.scan_iter(match="*:digests")]
    assert digests and acme_jira in str(await redis.get(digests[0]))
    records = await redis.xrange(digests[0].replace(":digests", ":audit"))
    assert any(ACME.encode() in fields[b"r"] for _, fields in records)

    await fleet.event(event(ACME, {"type": "app_uninstalled"}))
    assert await keys_naming(ACME, acme_jira) == []  # none of ACME's remains
    assert acme_jira not in str(await redis.get(digests[0]))
    records = await redis.xrange(digests[0].replace(":digests", ":audit"))
    assert records and not any(ACME.encode() in fields[b"r"] for _, fields in records)
    assert await keys_naming(GLOBEX, globex_jira)  # GLOBEX's stay
