"""Text from a ticketing tool (or typed by someone) is shown, never obeyed: a title that says
<!channel> or hides a link, a tag that mentions someone, travel through every message the bot
posts (the card, the compact line, the Undo note in the card's thread, a refusal, the bulk
summary) and no live mention, broadcast or link comes out. Before, the Undo note in the thread
posted the title raw: an @channel from the bot."""

from __future__ import annotations

import json
import re
from typing import Any

from bot.sandbox.fake_slack import Call
from tests.conftest import JIRA_CHANNEL
from tests.scenarios.conftest import Harness, last
from tests.scenarios.test_undo import undo, updated_card

HOSTILE = (
    "<!channel> Deploy <https://evil.example/login|the fix> for <@U0EVIL> in <#C0EVIL> &amp; <!subteam^S1>"
)
# What the hostile text would become if obeyed (the bot's own links to the ticket are fine).
LIVE = re.compile(r"<(?:!(?!date\^)|#C0EVIL|https?://evil|@U0EVIL)")
# An answer to one person keeps a user mention (Slack shows the name; it notifies nobody).
LIVE_IN_PRIVATE = re.compile(r"<(?:!(?!date\^)|#C0EVIL|https?://evil)")


def mrkdwn_of(call: Call) -> list[str]:
    """Every text Slack would read as mrkdwn in a call: the message text and mrkdwn objects."""
    found: list[str] = []
    if isinstance(call.args.get("text"), str):
        found.append(call.args["text"])

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if node.get("type") == "mrkdwn" and isinstance(node.get("text"), str):
                found.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    blocks = call.args.get("blocks")
    walk(json.loads(blocks) if isinstance(blocks, str) else blocks)
    return found


def assert_nothing_live(harness: Harness, live: re.Pattern[str] = LIVE) -> None:
    for call in harness.slack.state.calls:
        for text in mrkdwn_of(call):
            assert not live.search(text), f"{call.method}: {text}"


def make_hostile(harness: Harness, ticket: str = "PROJ-42") -> None:
    record = harness.sandbox.state.profiles["sandbox-jira"].tickets[ticket]
    record["title"] = HOSTILE
    record["name"] = HOSTILE


async def test_card_compact_line_and_undo_note_show_hostile_text_inert(edge: Harness) -> None:
    harness = edge
    make_hostile(harness)
    card = await updated_card(harness, f'PROJ-42 priority=high description="{HOSTILE}"')
    await undo(harness, card)
    assert harness.calls("chat.postMessage"), "the Undo note was posted in the thread"
    assert "&lt;!channel&gt;" in last(harness.calls("chat.postMessage"))["text"]
    assert_nothing_live(harness)


async def test_a_refusal_quoting_hostile_text_is_inert(edge: Harness) -> None:
    harness = edge
    await harness.command(f'PROJ-42 priority="{HOSTILE}"')
    assert harness.calls("response"), "the refusal was sent"
    assert_nothing_live(harness, LIVE_IN_PRIVATE)


async def test_a_bulk_summary_of_hostile_tickets_is_inert(edge: Harness) -> None:
    harness = edge
    for ticket in ("PROJ-41", "PROJ-42", "PROJ-43", "PROJ-44"):
        make_hostile(harness, ticket)
    await harness.command("PROJ-41..PROJ-44 priority=high")
    assert_nothing_live(harness)


async def test_a_comment_and_its_confirmation_are_inert(edge: Harness) -> None:
    """The confirmation's fallback text (what notifications and screen readers show) is escaped
    as its blocks are."""
    make_hostile(edge)
    await edge.command(f'comment PROJ-42 "{HOSTILE}"')
    assert [c for c in edge.sandbox.state.calls("POST") if "comments" in c.path]
    assert edge.calls("chat.postMessage") or edge.calls("response")
    assert_nothing_live(edge)


async def test_a_subscription_line_and_a_personal_dm_of_a_hostile_ticket_are_inert(edge: Harness) -> None:
    """What reaches a channel or a person from a change made in the tool: its title and values
    are the tool's, so anyone who can edit a ticket writes them."""
    from tests.scenarios.payloads import record_event
    from tests.scenarios.test_notifications import ANA_IN_JIRA, baseline, change_in_jira
    from tests.scenarios.test_subscriptions import subscribe

    edge.slack.state.memberships["U0ANA"] = [JIRA_CHANNEL]
    edge.slack.state.emails["U0ANA"] = "ana@acme.example"
    await subscribe(edge, "priority=High,Highest,Medium,Low,Lowest")
    await edge.command("notify on")
    await baseline(edge)
    make_hostile(edge)
    change_in_jira(edge, assignees=[ANA_IN_JIRA], priority={"id": "jp1", "name": HOSTILE[:60]})
    edge.slack.state.calls.clear()
    await edge.truto_event(record_event("updated", "PROJ-42"))
    told = {c.args["channel"] for c in edge.calls("chat.postMessage")}
    assert {JIRA_CHANNEL, "U0ANA"} <= told, told  # the channel's line and the person's DM
    assert_nothing_live(edge)
