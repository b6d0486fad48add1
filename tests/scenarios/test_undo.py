"""Undo: the previous values of exactly what changed, once, if nobody changed them since."""

from __future__ import annotations

from typing import Any

from tests.conftest import JIRA_CHANNEL
from tests.scenarios.conftest import Harness, last
from tests.scenarios.payloads import ANA, BRUNO, block_actions


async def updated_card(harness: Harness, text: str) -> list[dict[str, Any]]:
    await harness.command(text)
    card: list[dict[str, Any]] = last(harness.calls("chat.postMessage"))["blocks"]
    return card


async def undo(harness: Harness, card: list[dict[str, Any]], user: dict[str, str] = ANA) -> None:
    actions = next(b for b in card if b["type"] == "actions")
    button = next(e for e in actions["elements"] if e["action_id"] == "ticket_undo")
    harness.reset_counts()
    await harness.interact(
        block_actions(
            {
                "action_id": "ticket_undo",
                "block_id": actions.get("block_id", "a"),
                "type": "button",
                "value": button["value"],
            },
            channel=JIRA_CHANNEL,
            response_url=harness.slack.response_url(),
            message={"type": "message", "blocks": card},
            user=user,
        )
    )


async def test_undo_sends_back_exactly_what_changed(harness: Harness) -> None:
    card = await updated_card(harness, 'PROJ-42 status=done tags+=backend name="Login fails with SSO"')
    await undo(harness, card)
    [get, patch] = harness.sandbox.state.calls(path_contains="/tickets/PROJ-42")
    assert get.method == "GET"  # a fresh look: does the ticket still read what the update set?
    assert patch.body == {
        "status": {"id": "js1", "name": "To Do"},
        "tags": [{"id": "jl2", "name": "frontend"}],
    }
    replaced = last(harness.calls("response"))
    assert replaced["replace_original"] is True
    assert "status Done → To Do, tags −backend" in str(replaced["blocks"])
    records = await harness.core.service.audit.read(ticket="PROJ-42")  # type: ignore[union-attr]
    assert len(records) == 2 and records[0].idempotency_key != records[1].idempotency_key


async def test_undo_is_refused_after_a_concurrent_change(harness: Harness) -> None:
    card = await updated_card(harness, "PROJ-42 priority=high")
    harness.sandbox.state.profiles["sandbox-jira"].tickets["PROJ-42"]["priority"] = {
        "id": "jp5",
        "name": "Lowest",
    }
    await undo(harness, card)
    assert harness.sandbox.state.calls("PATCH") == []
    assert (
        last(harness.calls("response"))["text"]
        == "Not undone: priority (now Lowest) changed since; nothing was sent."
    )


async def test_undo_works_once(harness: Harness) -> None:
    card = await updated_card(harness, "PROJ-42 priority=high")
    await undo(harness, card)
    await undo(harness, card)
    second = last(harness.calls("response"))
    assert second["text"] == "Already undone by <@U0ANA>; nothing more was sent."
    assert ":warning:" not in str(second["blocks"])
    assert len(harness.sandbox.state.calls("PATCH")) == 0  # the second click sent nothing


async def test_undo_restores_custom_fields_and_clears_those_that_were_empty(harness: Harness) -> None:
    card = await updated_card(harness, "PROJ-42 cf.story_points=8 cf.severity=major")
    await undo(harness, card)
    [patch] = harness.sandbox.state.calls("PATCH")
    assert patch.body == {"custom_fields": {"story_points": 3, "severity": None}}
    ticket = harness.sandbox.state.profiles["sandbox-jira"].tickets["PROJ-42"]
    assert ticket["custom_fields"] == {"story_points": 3, "components": ["web"], "severity": None}


async def test_undo_asks_first_and_keeps_the_history_in_the_thread(harness: Harness) -> None:
    card = await updated_card(harness, "PROJ-42 priority=high")
    actions = next(b for b in card if b["type"] == "actions")
    button = next(e for e in actions["elements"] if e["action_id"] == "ticket_undo")
    assert button["confirm"]["title"]["text"] == "Undo this change?"
    await undo(harness, card)
    [thread] = harness.calls("chat.postMessage")
    assert thread.args["thread_ts"] == "1732770000.000100" and thread.args["channel"] == JIRA_CHANNEL
    assert thread.args["text"] == "<@U0ANA> undid their own change on PROJ-42: priority High → Medium."


async def test_an_undo_by_someone_else_names_both(harness: Harness) -> None:
    card = await updated_card(harness, "PROJ-42 priority=high")
    await undo(harness, card, user=BRUNO)
    [thread] = harness.calls("chat.postMessage")
    assert thread.args["text"] == "<@U0BRUNO> undid <@U0ANA>'s change on PROJ-42: priority High → Medium."
