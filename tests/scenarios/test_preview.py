"""Preview: before → after first, Apply sends exactly that, Cancel sends nothing; a stale
preview (over 10 minutes, or the ticket changed) is refused and offered again."""

from __future__ import annotations

from typing import Any

from bot.store import keys
from tests.conftest import JIRA_CHANNEL
from tests.scenarios.conftest import Harness, last
from tests.scenarios.payloads import block_actions


async def preview(harness: Harness, text: str) -> dict[str, Any]:
    await harness.command(text)
    answer = last(harness.calls("response"))
    assert answer["response_type"] == "ephemeral"
    assert answer["blocks"][0]["text"]["text"].endswith("nothing is sent until you apply it.")
    return answer


async def press(harness: Harness, answer: dict[str, Any], action_id: str) -> None:
    button = next(e for e in answer["blocks"][-1]["elements"] if e["action_id"] == action_id)
    await harness.interact(
        block_actions(
            {"action_id": action_id, "block_id": "p", "type": "button", "value": button["value"]},
            channel=JIRA_CHANNEL,
            response_url=harness.slack.response_url(),
            ephemeral=True,
        )
    )


async def test_preview_then_apply_sends_exactly_what_was_shown(harness: Harness) -> None:
    answer = await preview(harness, 'update PROJ-42 status="In Progress" priority=high --preview')
    assert answer["blocks"][1]["text"]["text"] == "*Status*: To Do → In Progress\n*Priority*: Medium → High"
    assert harness.sandbox.state.calls("PATCH") == []
    await press(harness, answer, "ticket_preview_apply")
    [patch] = harness.sandbox.state.calls("PATCH")
    assert patch.body == {
        "status": {"id": "js2", "name": "In Progress"},
        "priority": {"id": "jp2", "name": "High"},
    }
    removed = last(harness.calls("response"))
    assert removed["delete_original"] is True  # the preview goes away
    card = last(harness.calls("chat.postMessage"))  # posted as the bot: kept up to date later
    assert card["channel"] == JIRA_CHANNEL and "priority Medium → High" in str(card["blocks"])


async def test_cancel_sends_nothing(harness: Harness) -> None:
    answer = await preview(harness, "PROJ-42 priority=low --preview")
    await press(harness, answer, "ticket_preview_cancel")
    assert last(harness.calls("response"))["text"] == "Preview cancelled; nothing was sent."
    await press(harness, answer, "ticket_preview_apply")  # too late: it is gone
    assert "This preview is gone" in last(harness.calls("response"))["text"]
    assert harness.sandbox.state.calls("PATCH") == []


async def test_many_changes_are_previewed_without_asking(harness: Harness) -> None:
    text = "PROJ-42 status=done priority=low assignee=me tags+=backend due=+3d team=plat"
    answer = await preview(harness, text)
    assert harness.sandbox.state.calls("PATCH") == []
    assert answer["blocks"][0]["text"]["text"].startswith(
        "It changes 6 fields; updates of more than 5 are previewed first.\n*Preview of PROJ-42*"
    )


async def test_an_old_preview_is_offered_again(harness: Harness) -> None:
    answer = await preview(harness, "PROJ-42 priority=highest --preview")
    backend = harness.core.cache.backend
    [key] = [k.decode() for k in await harness.core.redis.keys(keys.key("preview", "*"))]  # type: ignore[union-attr]
    entry = await backend.get(key)
    assert entry is not None
    await harness.core.cache.store(key, {**entry.value, "at": entry.value["at"] - 601}, ttl=3600, stale_for=0)
    await press(harness, answer, "ticket_preview_apply")
    again = last(harness.calls("response"))
    assert again["replace_original"] is True
    assert again["blocks"][0]["text"]["text"].startswith("That preview was more than 10 minutes old")
    assert harness.sandbox.state.calls("PATCH") == []


async def test_a_preview_of_a_changed_ticket_is_offered_again(harness: Harness) -> None:
    answer = await preview(harness, "PROJ-42 priority=highest --preview")
    harness.sandbox.state.profiles["sandbox-jira"].tickets["PROJ-42"]["updated_at"] = "2026-11-28T09:00:00Z"
    await press(harness, answer, "ticket_preview_apply")
    again = last(harness.calls("response"))
    assert again["blocks"][0]["text"]["text"].startswith("PROJ-42 changed since that preview")
    assert harness.sandbox.state.calls("PATCH") == []
    assert "*Priority*: Medium → Highest" in again["blocks"][1]["text"]["text"]
