"""Workspace settings from the Home tab (distributed mode): opened by an admin, checked and saved
on submit, in effect for the next request: routing, who may update, read-only channels."""

from __future__ import annotations

from typing import Any

from blocks import ids
from tests.fleet import ACME, ADMIN, connect, event, fleet, install, slash
from tests.scenarios.conftest import Harness, last
from tests.scenarios.payloads import block_actions, view_submission

__all__ = ["fleet"]  # the fixture

FORM = "application/x-www-form-urlencoded"
ADMIN_USER = {"id": ADMIN, "username": "admin", "name": "admin", "team_id": ACME}
ANA = {"id": "U0ANA", "username": "ana", "name": "ana", "team_id": ACME}


def in_acme(payload: dict[str, Any]) -> dict[str, Any]:
    payload["team"] = {"id": ACME, "domain": "acme"}
    if isinstance(payload.get("view"), dict):
        payload["view"]["team_id"] = ACME
    return payload


async def open_settings(fleet: Harness, user: dict[str, str] = ADMIN_USER) -> dict[str, Any]:
    fleet.slack.state.calls.clear()
    await fleet.event(event(ACME, {"type": "app_home_opened", "user": ADMIN, "tab": "home"}))
    [home] = fleet.calls("views.publish")
    actions = next(b for b in home.args["view"]["blocks"] if b["type"] == "actions")  # then notifications
    assert [e["text"]["text"] for e in actions["elements"]] == ["Connect another tool", "Settings"]
    click = block_actions(
        {"action_id": ids.OPEN_SETTINGS, "block_id": "b", "type": "button", "value": "settings"},
        channel="D0HOME",
        response_url=fleet.slack.response_url(),
        user=user,
    )
    click.pop("container"), click.pop("channel"), click.pop("response_url")  # a Home tab button
    await fleet.interact(in_acme(click))
    view: dict[str, Any] = last(fleet.calls("views.open"))["view"]
    return view


def values(**chosen: Any) -> dict[str, Any]:
    kinds = {
        f"{ids.SETTINGS_CHANNELS}0": ("multi_conversations_select", "selected_conversations"),
        f"{ids.SETTINGS_CHANNELS}1": ("multi_conversations_select", "selected_conversations"),
        ids.SETTINGS_USERS: ("multi_users_select", "selected_users"),
        ids.SETTINGS_USERGROUPS: ("plain_text_input", "value"),
        ids.SETTINGS_READ_ONLY: ("multi_conversations_select", "selected_conversations"),
        ids.SETTINGS_CHANNEL_CARD: ("static_select", "selected_option"),
        ids.SETTINGS_REACTIONS: ("plain_text_input", "value"),
        ids.SETTINGS_WORKFLOW_STEPS: ("static_select", "selected_option"),
        ids.SETTINGS_CREATE: ("static_select", "selected_option"),
    }
    out: dict[str, Any] = {}
    for block, value in chosen.items():
        kind, key = kinds[block]
        out[block] = {ids.SETTINGS_VALUE: {"type": kind, key: value}}
    return out


async def submit(
    fleet: Harness, view: dict[str, Any], user: dict[str, str] = ADMIN_USER, **chosen: Any
) -> Any:
    response = await fleet.interact(in_acme(view_submission(view, values(**chosen), user)))
    return response.json() if response.content else None


async def test_an_admin_routes_channels_and_limits_who_may_update(fleet: Harness) -> None:
    await install(fleet, ACME)
    jira = await connect(fleet, ACME, "jira")
    linear = await connect(fleet, ACME, "linear")
    view = await open_settings(fleet)
    labels = [b["label"]["text"] for b in view["blocks"]]
    assert labels[:3] == ["Channels that use Jira", "Channels that use Linear", "Every other channel uses"]

    fleet.slack.state.calls.clear()
    answer = await submit(
        fleet,
        view,
        **{
            f"{ids.SETTINGS_CHANNELS}1": ["C0LINEAR"],
            ids.SETTINGS_USERS: [ADMIN],
            ids.SETTINGS_READ_ONLY: ["C0ANNOUNCE"],
            ids.SETTINGS_CHANNEL_CARD: {"value": "full"},
        },
    )
    assert answer is None  # saved: the modal closes
    [home] = fleet.calls("views.publish")  # the admin's Home tab shows the new routing at once
    assert "*Linear*: <#C0LINEAR>" in str(home.args["view"]["blocks"])
    assert fleet.bot.distributed is not None
    saved = await fleet.bot.distributed.workspaces.settings(ACME)
    assert saved.channels == {"C0LINEAR": linear} and saved.users == (ADMIN,)
    assert saved.read_only_channels == ("C0ANNOUNCE",) and saved.channel_card == "full"

    fleet.sandbox.state.requests.clear()
    await fleet.post(
        slash(ACME, "update ENG-7 priority=urgent", fleet.slack.response_url(), "C0LINEAR"), FORM
    )
    await fleet.post(
        slash(ACME, "update PROJ-42 priority=low", fleet.slack.response_url(), "C0GENERAL"), FORM
    )
    assert [dict(p.query)["integrated_account_id"] for p in fleet.sandbox.state.calls("PATCH")] == [
        linear,
        jira,
    ]

    fleet.sandbox.state.requests.clear()
    fleet.slack.state.calls.clear()
    await fleet.post(
        slash(ACME, "update PROJ-42 priority=high", fleet.slack.response_url(), "C0ANNOUNCE"), FORM
    )
    assert fleet.sandbox.state.calls("PATCH") == []
    assert "read-only" in last(fleet.calls("response"))["text"]


async def test_mistakes_are_answered_on_the_form_and_nothing_is_saved(fleet: Harness) -> None:
    await install(fleet, ACME)
    await connect(fleet, ACME, "jira")
    await connect(fleet, ACME, "linear")
    view = await open_settings(fleet)
    twice = await submit(
        fleet, view, **{f"{ids.SETTINGS_CHANNELS}0": ["C0OPS"], f"{ids.SETTINGS_CHANNELS}1": ["C0OPS"]}
    )
    assert twice == {
        "response_action": "errors",
        "errors": {
            f"{ids.SETTINGS_CHANNELS}1": "<#C0OPS> is chosen for another tool above; a channel uses one tool."
        },
    }
    group = await submit(fleet, view, **{ids.SETTINGS_USERGROUPS: "S0ENG oncall"})
    assert group["errors"] == {
        ids.SETTINGS_USERGROUPS: "'oncall' is not a user group id (user group ids look like S0123ABCD: "
        "the group's profile → Copy ID)"
    }
    forged = {**view, "private_metadata": "e30.AAAAAAAAAAAAAAAAAAAAAA"}
    assert (await submit(fleet, forged))["errors"] == {
        f"{ids.SETTINGS_CHANNELS}0": "This form has expired; open the settings again from the Home tab."
    }
    assert fleet.bot.distributed is not None
    assert (await fleet.bot.distributed.workspaces.settings(ACME)).channels == {}


async def test_only_an_admin_opens_or_saves_the_settings(fleet: Harness) -> None:
    await install(fleet, ACME)
    await connect(fleet, ACME, "jira")
    view = await open_settings(fleet)  # an admin's form…
    answer = await submit(fleet, view, user=ANA, **{ids.SETTINGS_USERS: ["U0ANA"]})  # …sent by Ana
    assert answer["errors"] == {
        f"{ids.SETTINGS_CHANNELS}0": "Only workspace admins and owners can change these settings."
    }
    assert fleet.bot.distributed is not None
    assert (await fleet.bot.distributed.workspaces.settings(ACME)).users == ()
    note = await open_settings(fleet, user=ANA)
    assert note["blocks"][0]["text"]["text"] == "Only workspace admins and owners can change these settings."


async def test_reactions_and_workflow_steps_are_set_from_home(fleet: Harness) -> None:
    from tests.scenarios.test_workflow_steps import executed

    await install(fleet, ACME)
    jira = await connect(fleet, ACME, "jira")
    view = await open_settings(fleet)
    wrong = await submit(fleet, view, **{ids.SETTINGS_REACTIONS: ":eyes: assignee=me\nfire priorty=P0"})
    said = wrong["errors"][ids.SETTINGS_REACTIONS]
    assert said.startswith("line 2: fire: unknown field 'priorty'; did you mean 'priority'? Fields: title,")
    assert list(wrong["errors"]) == [ids.SETTINGS_REACTIONS]
    chosen = {
        ids.SETTINGS_REACTIONS: ":white_check_mark: status=done\n\neyes = assignee=me",
        ids.SETTINGS_WORKFLOW_STEPS: {"value": "any"},
    }
    assert await submit(fleet, view, **chosen) is None
    assert fleet.bot.distributed is not None
    saved = await fleet.bot.distributed.workspaces.settings(ACME)
    assert saved.reactions == {"white_check_mark": "status=done", "eyes": "assignee=me"}
    assert saved.workflow_steps == "any"
    reopened = await open_settings(fleet)
    [reactions] = [b for b in reopened["blocks"] if b["block_id"] == ids.SETTINGS_REACTIONS]
    assert reactions["element"]["initial_value"] == ":white_check_mark: status=done\n:eyes: assignee=me"

    # In effect at once: a reaction in ACME applies its update; a step without a person runs.
    fleet.slack.state.messages[("C0GENERAL", "1732770000.000900")] = {
        "type": "message",
        "ts": "1732770000.000900",
        "text": "PROJ-42 is fixed",
    }
    fleet.sandbox.state.requests.clear()
    reacted = {
        "type": "reaction_added",
        "user": ADMIN,
        "reaction": "white_check_mark",
        "item": {"type": "message", "channel": "C0GENERAL", "ts": "1732770000.000900"},
    }
    await fleet.event(event(ACME, reacted))
    [patch] = fleet.sandbox.state.calls("PATCH")
    assert patch.body == {"status": {"id": "js4", "name": "Done"}}
    assert dict(patch.query)["integrated_account_id"] == jira
    step = executed("update_ticket", {"ticket": "PROJ-42", "priority": "high"})
    step["team_id"], step["authorizations"] = ACME, [{"team_id": ACME, "user_id": "U0BOT", "is_bot": True}]
    await fleet.event(step)
    assert len(fleet.sandbox.state.calls("PATCH")) == 2 and fleet.calls("functions.completeSuccess")


async def test_an_admin_turns_creating_tickets_off_and_on(fleet: Harness) -> None:
    await install(fleet, ACME)
    await connect(fleet, ACME, "jira")
    view = await open_settings(fleet)
    [create] = [b for b in view["blocks"] if b["block_id"] == ids.SETTINGS_CREATE]
    assert create["element"]["initial_option"]["value"] == "on"  # the default: whoever may update
    assert await submit(fleet, view, **{ids.SETTINGS_CREATE: {"value": "off"}}) is None
    assert fleet.bot.distributed is not None
    assert (await fleet.bot.distributed.workspaces.settings(ACME)).create is False
    line = 'create "Checkout fails" project=PROJ type=Bug cf.severity=major'
    answer = await fleet.post(slash(ACME, line, fleet.slack.response_url(), "C0GENERAL"), FORM)
    assert "Creating Jira tickets from Slack is turned off" in answer.json()["text"]
    assert fleet.sandbox.state.calls("POST", "/unified/ticketing/tickets") == []
    reopened = await open_settings(fleet)
    assert await submit(fleet, reopened, **{ids.SETTINGS_CREATE: {"value": "on"}}) is None
    await fleet.post(slash(ACME, line, fleet.slack.response_url(), "C0GENERAL"), FORM)
    assert len(fleet.sandbox.state.calls("POST", "/unified/ticketing/tickets")) == 1
