"""Card buttons and selects over signed HTTP: in-place updates, sharing, forged values."""

from __future__ import annotations

import base64
import json
from typing import Any

from tests.conftest import JIRA_CHANNEL
from tests.scenarios.conftest import Harness, last
from tests.scenarios.payloads import ANA, block_actions


async def show_card(harness: Harness, ref: str = "PROJ-42") -> list[dict[str, Any]]:
    await harness.command(f"show {ref}")
    blocks: list[dict[str, Any]] = last(harness.calls("response"))["blocks"]
    return blocks


def element(blocks: list[dict[str, Any]], action_id: str) -> tuple[dict[str, Any], str]:
    actions = next(b for b in blocks if b["type"] == "actions")
    return next(e for e in actions["elements"] if e["action_id"] == action_id), actions.get("block_id", "")


async def click(harness: Harness, blocks: list[dict[str, Any]], action_id: str, **extra: Any) -> None:
    found, block_id = element(blocks, action_id)
    action = {"action_id": action_id, "block_id": block_id, "type": found["type"], **extra}
    if "value" in found:
        action["value"] = found["value"]
    harness.reset_counts()
    await harness.interact(
        block_actions(
            action,
            channel=JIRA_CHANNEL,
            response_url=harness.slack.response_url(),
            message={"type": "message", "blocks": blocks, "ts": "1732770000.000100"},
        )
    )


async def test_status_select_applies_at_once_and_replaces_the_card(harness: Harness) -> None:
    blocks = await show_card(harness)
    chosen = {"text": {"type": "plain_text", "text": "In Review"}, "value": "js3"}
    await click(harness, blocks, "ticket_status_select", selected_option=chosen)
    assert harness.api_calls() == [("PATCH", "/unified/ticketing/tickets/PROJ-42")]  # seen just now: no GET
    assert harness.sandbox.state.calls("PATCH")[0].body == {"status": {"id": "js3", "name": "In Review"}}
    replaced = last(harness.calls("response"))
    assert replaced["replace_original"] is True
    new_select, _ = element(replaced["blocks"], "ticket_status_select")
    assert new_select["initial_option"]["value"] == "js3"
    assert harness.calls("chat.postMessage") == []


async def test_assign_to_me_uses_the_slack_profile_email(harness: Harness) -> None:
    blocks = await show_card(harness)
    await click(harness, blocks, "ticket_assign_me")
    assert harness.sandbox.state.calls("PATCH")[0].body == {
        "assignees": [{"id": "ju0001", "name": "Ana Lima"}]
    }
    assert "assignees Bruno Costa → Ana Lima" in str(last(harness.calls("response"))["blocks"])


async def test_share_posts_in_channel_and_removes_the_ephemeral(harness: Harness) -> None:
    blocks = await show_card(harness)
    await click(harness, blocks, "ticket_share")
    shared, removed = harness.calls("response")
    assert shared.args["response_type"] == "in_channel"
    assert "ticket_share" not in str(shared.args["blocks"])
    assert removed.args["delete_original"] is True
    assert harness.sandbox.state.calls() == []  # the ticket was seen a moment ago


async def test_edit_button_opens_the_modal(harness: Harness) -> None:
    blocks = await show_card(harness)
    await click(harness, blocks, "ticket_edit_open")
    assert len(harness.calls("views.open")) == 1
    assert harness.calls("views.update")[0].args["view"]["callback_id"] == "ticket_edit"


async def test_a_forged_value_changes_nothing(harness: Harness) -> None:
    blocks = await show_card(harness)
    button, block_id = element(blocks, "ticket_assign_me")
    payload, mac = button["value"].split(".")
    data = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    assert data == {"a": "jira", "t": "PROJ-42"}
    other = base64.urlsafe_b64encode(json.dumps({"a": "jira", "t": "PROJ-1"}).encode()).decode().rstrip("=")
    forged = f"{other}.{mac}"  # another ticket, with the old signature
    harness.reset_counts()
    await harness.interact(
        block_actions(
            {"action_id": "ticket_assign_me", "block_id": block_id, "type": "button", "value": forged},
            channel=JIRA_CHANNEL,
            response_url=harness.slack.response_url(),
        )
    )
    assert harness.sandbox.state.calls() == []
    assert "not valid any more" in last(harness.calls("response"))["text"]


async def test_open_button_is_acknowledged_and_does_nothing_else(harness: Harness) -> None:
    blocks = await show_card(harness)
    await click(harness, blocks, "ticket_open_url")
    assert harness.sandbox.state.calls() == [] and harness.slack.state.calls == []


async def test_slack_rate_limit_on_post_message_is_retried(harness: Harness) -> None:
    from tests.scenarios.payloads import view_submission
    from tests.scenarios.test_views import open_form, option, unchanged_state

    view = await open_form(harness)
    values = unchanged_state(view)
    values["field_priority"]["value"]["selected_option"] = option("jp1", "Highest")
    harness.slack.state.fail_next("chat.postMessage", status=429, retry_after=0)
    await harness.interact(view_submission(view, values, user=ANA))
    posts = harness.calls("chat.postMessage")
    assert [p.answer.get("ok") for p in posts] == [False, True]


async def test_a_tool_that_cannot_update_gets_a_card_without_update_buttons(harness: Harness) -> None:
    harness.sandbox.state.profiles["sandbox-jira"].can_update = False
    blocks = await show_card(harness)
    actions = next(b for b in blocks if b["type"] == "actions")
    assert [e["action_id"] for e in actions["elements"]] == ["ticket_open_url", "ticket_share"]
    await harness.command("PROJ-42 status=done")
    assert "The Jira account can't update tickets" in last(harness.calls("response"))["text"]
    assert harness.sandbox.state.calls("PATCH") == []
