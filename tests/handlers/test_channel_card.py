"""What the channel sees after an update: by default one compact line, the card one click
away; `channel_card: full` keeps the card, `none` shows it to the user alone."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from tests.conftest import JIRA, JIRA_CHANNEL, LINEAR_CHANNEL
from tests.handlers.conftest import Harness, harness_config, last, running
from tests.handlers.payloads import block_actions, record_event


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
    assert [e["action_id"] for e in posted["blocks"][1]["elements"]] == ["ticket_show_card", "ticket_undo"]
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


async def test_a_compact_line_stays_live_and_compact(default: Harness) -> None:
    await default.command("PROJ-42 priority=high")
    default.reset_counts()
    default.sandbox.state.profiles["sandbox-jira"].tickets["PROJ-42"]["status"] = {
        "id": "js4",
        "name": "Done",
    }
    await default.truto_event(record_event("updated", "PROJ-42"))
    [update] = default.calls("chat.update")
    text = update.args["blocks"][0]["text"]["text"]
    assert text.startswith(
        "<https://acme.atlassian.net/browse/PROJ-42|PROJ-42> Login fails with SSO · Done · updated <!date^"
    )
    assert text.endswith(" in Jira")


async def test_none_shows_the_card_to_the_user_alone(default: Harness) -> None:
    await default.command("ENG-7 priority=high", channel=LINEAR_CHANNEL)
    assert default.calls("chat.postMessage") == []
    card = last(default.calls("response"))
    assert card["response_type"] == "ephemeral" and card["blocks"][0]["type"] == "header"
    assert button(card["blocks"], "ticket_share")  # the user may still share it
