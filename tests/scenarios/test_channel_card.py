"""What the channel sees after an update: by default one compact line, the card one click
away; `channel_card: full` keeps the card, `none` shows it to the user alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from tests.conftest import JIRA, JIRA_CHANNEL, LINEAR_CHANNEL
from tests.scenarios.conftest import Harness, harness_config, last, running
from tests.scenarios.payloads import block_actions, record_event


@pytest.fixture
async def default(sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str) -> AsyncIterator[Harness]:
    linear_quiet = {"channel_card": "none"}
    from tests.conftest import LINEAR

    config = harness_config(
        sandbox,
        fake_slack,
        clean_redis,
        jira=JIRA,
        linear=LINEAR.model_copy(update=linear_quiet),
        channel_card="compact",
    )
    async with running(config, sandbox, fake_slack) as harness:
        yield harness


def button(blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    return next(
        e for b in blocks if b["type"] == "actions" for e in b["elements"] if e["action_id"] == action_id
    )


async def test_an_update_posts_one_compact_line(default: Harness) -> None:
    await default.command("PROJ-42 priority=high")
    posted = last(default.calls("chat.postMessage"))
    assert posted["channel"] == JIRA_CHANNEL
    assert posted["blocks"][0]["text"]["text"] == (
        "<@U0ANA> set <https://acme.atlassian.net/browse/PROJ-42|PROJ-42> priority Medium → High · To Do"
    )
    assert [e["action_id"] for e in posted["blocks"][1]["elements"]] == [
        "ticket_show_card",
        "ticket_undo",
        "ticket_sync_thread",  # Jira's comments can follow the line's thread
    ]
    assert len(posted["blocks"]) == 2  # no header, no fields, no description


async def test_show_card_gives_the_full_card_to_whoever_asks(default: Harness) -> None:
    await default.command("PROJ-42 priority=high")
    line = last(default.calls("chat.postMessage"))
    default.reset_counts()
    show = button(line["blocks"], "ticket_show_card")
    await default.interact(
        block_actions(
            {"action_id": "ticket_show_card", "block_id": "c", "type": "button", "value": show["value"]},
            channel=JIRA_CHANNEL,
            response_url=default.slack.response_url(),
        )
    )
    card = last(default.calls("response"))
    assert card["response_type"] == "ephemeral" and card["replace_original"] is False
    assert card["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Login fails with SSO", "emoji": True},
    }
    assert default.sandbox.state.calls("GET", "/tickets/") == []  # the ticket from the snapshot


async def test_live_lines_keep_who_set_what_and_their_undo(default: Harness) -> None:
    """Three updates in a row: each line stays the record of its change; the echoes of the
    bot's own changes cost no Slack call; a change in the tool adds the state after it."""
    for change in ("priority=high", "status=done", "due=2026-12-24"):
        await default.command(f"PROJ-42 {change}")
    lines = default.calls("chat.postMessage")
    assert len(lines) == 3
    default.reset_counts()
    await default.truto_event(record_event("updated", "PROJ-42"))  # the echo of the bot's own changes
    assert default.calls("chat.update") == []
    tickets = default.sandbox.state.profiles["sandbox-jira"].tickets
    tickets["PROJ-42"]["priority"] = {"id": "jp1", "name": "Highest"}  # then a change in Jira
    await default.truto_event(record_event("updated", "PROJ-42"))
    updates = {u.args["ts"]: u.args for u in default.calls("chat.update")}
    link = "<https://acme.atlassian.net/browse/PROJ-42|PROJ-42>"
    first, second, third = (updates[line.answer["ts"]] for line in lines)
    text = first["blocks"][0]["text"]["text"]
    assert text.startswith(
        f"<@U0ANA> set {link} priority Medium → High · To Do · now Done, priority Highest, "
        "due date 2026-12-24 · updated <!date^"
    )
    assert text.endswith(" in Jira")
    assert second["blocks"][0]["text"]["text"].startswith(
        f"<@U0ANA> set {link} status To Do → Done · Done · now priority Highest, due date 2026-12-24 · updated"
    )
    assert third["blocks"][0]["text"]["text"].startswith(
        f"<@U0ANA> set {link} due date — → 2026-12-24 · Done · now priority Highest · updated"
    )
    for update, line in zip((first, second, third), lines, strict=True):  # each keeps its own Undo
        assert (
            button(update["blocks"], "ticket_undo")["value"]
            == button(line.args["blocks"], "ticket_undo")["value"]
        )


async def test_a_line_past_its_undo_time_loses_the_undo_when_it_is_next_brought_up_to_date(
    default: Harness,
) -> None:
    await default.command("PROJ-42 priority=high")
    registry = default.bot.deps.cards
    [card] = await registry.cards(JIRA.integrated_account_id, "PROJ-42")
    await registry.forget(JIRA.integrated_account_id, "PROJ-42")
    await registry.add(JIRA.integrated_account_id, "PROJ-42", card.model_copy(update={"undo_until": 1.0}))
    default.reset_counts()
    default.sandbox.state.profiles["sandbox-jira"].tickets["PROJ-42"]["status"] = {
        "id": "js4",
        "name": "Done",
    }
    await default.truto_event(record_event("updated", "PROJ-42"))
    [update] = default.calls("chat.update")
    assert [e["action_id"] for e in update.args["blocks"][1]["elements"]] == [
        "ticket_show_card",
        "ticket_sync_thread",
    ]
    assert "set <https://acme" in update.args["blocks"][0]["text"]["text"]  # still the record


async def test_none_shows_the_card_to_the_user_alone(default: Harness) -> None:
    await default.command("ENG-7 priority=high", channel=LINEAR_CHANNEL)
    assert default.calls("chat.postMessage") == []
    card = last(default.calls("response"))
    assert card["response_type"] == "ephemeral" and card["blocks"][0]["type"] == "header"
    assert button(card["blocks"], "ticket_share")  # the user may still share it
