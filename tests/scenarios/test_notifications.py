"""Personal notifications over signed commands and signed webhook deliveries: who gets a DM,
with what words, and who does not."""

from __future__ import annotations

from typing import Any

from bot.sandbox.fake_slack import Call
from tests.scenarios.conftest import Harness, last
from tests.scenarios.payloads import record_event

ANA_IN_JIRA = {"id": "ju0001", "name": "Ana Lima"}
IN_REVIEW = {"id": "js3", "name": "In Review"}


def change_in_jira(harness: Harness, **fields: Any) -> None:
    harness.sandbox.state.profiles["sandbox-jira"].tickets["PROJ-42"].update(fields)


def dms(harness: Harness, user: str = "U0ANA") -> list[Call]:
    return [c for c in harness.calls("chat.postMessage") if c.args["channel"] == user]


async def baseline(harness: Harness) -> None:
    """The bot sees the ticket once (a first sight tells nobody anything)."""
    await harness.truto_event(record_event("updated", "PROJ-42"))
    harness.reset_counts()


async def test_notify_on_then_a_ticket_assigned_to_me_is_a_dm(harness: Harness) -> None:
    await harness.command("notify on")
    said = last(harness.calls("response"))
    assert said["response_type"] == "ephemeral" and said["text"].startswith("Notifications are on")
    await baseline(harness)
    assert harness.calls("chat.postMessage") == []
    change_in_jira(harness, assignees=[ANA_IN_JIRA])
    await harness.truto_event(record_event("updated", "PROJ-42"))
    [dm] = dms(harness)
    assert dm.args["text"] == "PROJ-42 was assigned to you: assignee Bruno Costa → Ana Lima"
    blocks = dm.args["blocks"]
    assert blocks[0]["elements"][0]["text"] == "PROJ-42 was assigned to you"
    assert blocks[1]["text"]["text"].endswith("→ Ana Lima · in Jira")
    assert blocks[-1]["elements"][0]["text"] == (
        "You get these because you turned them on; `/ticket notify off` stops them."
    )

    harness.reset_counts()  # then its status moves: assigned to me, so told
    change_in_jira(harness, status=IN_REVIEW)
    await harness.truto_event(record_event("updated", "PROJ-42"))
    [dm] = dms(harness)
    assert dm.args["blocks"][0]["elements"][0]["text"] == "PROJ-42 changed (assigned to you)"
    assert "status To Do → In Review" in dm.args["blocks"][1]["text"]["text"]

    harness.reset_counts()  # Bruno changes it from Slack: the DM says who, and that it was in Slack
    await harness.command(
        "update PROJ-42 priority=high", user={"id": "U0BRUNO", "username": "bruno", "name": "bruno"}
    )
    await harness.truto_event(record_event("updated", "PROJ-42"))
    [dm] = dms(harness)
    assert dm.args["blocks"][1]["text"]["text"].endswith("· by <@U0BRUNO> from Slack")
    assert "in Jira" not in dm.args["blocks"][1]["text"]["text"]


async def test_nobody_who_did_not_turn_it_on_and_not_my_own_change(harness: Harness) -> None:
    await harness.command(
        "notify on", user={"id": "U0BRUNO", "username": "bruno", "name": "bruno", "team_id": "T0TEAM"}
    )
    await baseline(harness)
    change_in_jira(harness, assignees=[ANA_IN_JIRA])  # Ana's, but Ana did not turn it on
    await harness.truto_event(record_event("updated", "PROJ-42"))
    assert dms(harness) == [] and dms(harness, "U0BRUNO") == []

    await harness.command("notify on")
    harness.reset_counts()
    await harness.command("update PROJ-42 status=done")  # Ana's own change, through the bot
    await harness.truto_event(record_event("updated", "PROJ-42"))
    assert dms(harness) == []

    await harness.command("notify off")
    assert last(harness.calls("response"))["text"].startswith("Notifications are off")
    change_in_jira(harness, status=IN_REVIEW)
    await harness.truto_event(record_event("updated", "PROJ-42"))
    assert dms(harness) == []


async def test_a_mention_in_the_description_is_a_dm(harness: Harness) -> None:
    await harness.command("notify on")
    await baseline(harness)
    change_in_jira(harness, description="Can @Ana Lima look at the SSO logs?")
    await harness.truto_event(record_event("updated", "PROJ-42"))
    [dm] = dms(harness)
    assert dm.args["blocks"][0]["elements"][0]["text"] == "PROJ-42 mentions you"


async def test_notify_takes_on_or_off(harness: Harness) -> None:
    answer = await harness.command("notify maybe")
    assert answer.json()["text"].startswith("Notify takes on or off.")


async def test_the_home_tab_turns_them_on_and_off(harness: Harness) -> None:
    from tests.scenarios.payloads import block_actions
    from tests.scenarios.test_home import home_opened

    await harness.event(home_opened("U0ANA"))
    view = last(harness.calls("views.publish"))["view"]
    [button] = [
        e
        for b in view["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "toggle_notifications"
    ]
    assert (button["text"]["text"], button["value"]) == ("Turn on", "on")
    click = block_actions(
        {"action_id": button["action_id"], "block_id": "b", "type": "button", "value": "on"},
        channel="D0HOME",
        response_url=harness.slack.response_url(),
    )
    harness.reset_counts()
    await harness.interact(click)
    view = last(harness.calls("views.publish"))["view"]
    assert "*Your notifications* are on" in str(view["blocks"])
    await harness.command("notify off")
    assert last(harness.calls("response"))["text"].startswith("Notifications are off")
