"""Emoji reactions over signed events and the fake Slack: a configured emoji on a message that
links a ticket applies its update as the reactor, once; anything else does nothing."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from tests.conftest import JIRA, JIRA_CHANNEL
from tests.scenarios.conftest import Harness, harness_config, running

TS = "1732770000.000300"


def reaction(emoji: str, ts: str = TS, user: str = "U0ANA") -> dict[str, Any]:
    return {
        "token": "x",
        "team_id": "T0TEAM",
        "api_app_id": "A0TICKETBOT",
        "event": {
            "type": "reaction_added",
            "user": user,
            "reaction": emoji,
            "item": {"type": "message", "channel": JIRA_CHANNEL, "ts": ts},
            "item_user": "U0BRUNO",
            "event_ts": f"{time.time():.6f}",
        },
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": "T0TEAM", "user_id": "UBOT", "is_bot": True}],
    }


@pytest.fixture
async def reacting(sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str) -> AsyncIterator[Harness]:
    jira = JIRA.model_copy(
        update={"reactions": {"white_check_mark": "status=done", "fire": "priority=Highest"}}
    )
    config = harness_config(sandbox, fake_slack, clean_redis, jira=jira)
    fake_slack.state.messages[(JIRA_CHANNEL, TS)] = {
        "type": "message",
        "ts": TS,
        "text": "PROJ-42 is fixed on staging",
    }
    async with running(config, sandbox, fake_slack) as harness:
        yield harness


async def test_a_configured_reaction_updates_the_linked_ticket_once(reacting: Harness) -> None:
    first = reaction("white_check_mark")
    await reacting.event(first)
    [patch] = reacting.sandbox.state.calls("PATCH")
    assert patch.path == "/unified/ticketing/tickets/PROJ-42"
    assert patch.body == {"status": {"id": "js4", "name": "Done"}}
    [card] = reacting.calls("chat.postEphemeral")  # told privately, with Undo
    assert card.args["user"] == "U0ANA" and card.args["channel"] == JIRA_CHANNEL
    assert "Undo" in str(card.args["blocks"])
    assert reacting.calls("chat.postMessage") == []  # the channel sees nothing of it
    await reacting.event(first, retry_num=1)  # Slack's retry of the event
    await reacting.event(reaction("white_check_mark"))  # the same reaction again
    assert len(reacting.sandbox.state.calls("PATCH")) == 1


async def test_reactions_nobody_configured_or_without_a_ticket_do_nothing(reacting: Harness) -> None:
    await reacting.event(reaction("tada"))
    reacting.slack.state.messages[(JIRA_CHANNEL, "1732770000.000400")] = {
        "type": "message",
        "ts": "1732770000.000400",
        "text": "lunch?",
    }
    await reacting.event(reaction("fire", ts="1732770000.000400"))
    assert reacting.sandbox.state.calls() == []
    assert reacting.calls("chat.postEphemeral") == [] and reacting.calls("chat.postMessage") == []


async def test_a_message_linking_several_tickets_asks_privately(reacting: Harness) -> None:
    reacting.slack.state.messages[(JIRA_CHANNEL, "1732770000.000500")] = {
        "type": "message",
        "ts": "1732770000.000500",
        "text": "PROJ-1 and PROJ-2 are both done",
    }
    await reacting.event(reaction("fire", ts="1732770000.000500"))
    assert reacting.sandbox.state.calls("PATCH") == []
    [asked] = reacting.calls("chat.postEphemeral")
    assert asked.args["text"].startswith("That message links PROJ-1, PROJ-2: react on one ticket's card")


def test_a_reaction_whose_update_is_wrong_stops_start_up() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="fire: unknown field 'priorty'"):
        JIRA.model_validate({**JIRA.model_dump(), "reactions": {"fire": "priorty=P0"}})


async def test_a_reaction_on_a_reply_in_a_thread_finds_the_reply(reacting: Harness) -> None:
    reply = "1732770000.000600"
    reacting.slack.state.messages[(JIRA_CHANNEL, reply)] = {
        "type": "message",
        "ts": reply,
        "thread_ts": TS,  # a reply in the thread of the message about PROJ-42
        "text": "PROJ-41 is the one that broke it",
    }
    await reacting.event(reaction("white_check_mark", ts=reply))
    [patch] = reacting.sandbox.state.calls("PATCH")
    assert patch.path == "/unified/ticketing/tickets/PROJ-41"  # the reply's ticket, not the parent's
    [replies] = reacting.calls("conversations.replies")
    assert replies.args["ts"] == reply


async def test_a_reaction_on_a_ticket_card_updates_that_card(reacting: Harness) -> None:
    from tests.scenarios.payloads import record_event

    await reacting.command("PROJ-42 priority=high")
    posted = reacting.calls("chat.postMessage")[-1]
    ts = str(posted.answer["ts"])
    reacting.slack.state.messages[(JIRA_CHANNEL, ts)] = {"type": "message", "ts": ts, **posted.args}
    reacting.reset_counts()
    await reacting.event(reaction("white_check_mark", ts=ts))
    [patch] = reacting.sandbox.state.calls("PATCH")
    assert patch.body == {"status": {"id": "js4", "name": "Done"}}
    await reacting.truto_event(record_event("updated", "PROJ-42"))  # the tool tells of the change
    [update] = reacting.calls("chat.update")
    assert update.args["ts"] == ts and "now Done" in str(update.args["blocks"])
