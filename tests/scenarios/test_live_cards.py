"""Live cards: a change made anywhere reaches every card of the ticket already in Slack."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from tests.conftest import JIRA_CHANNEL
from tests.scenarios.conftest import Harness, harness_config, last, running
from tests.scenarios.payloads import WEBHOOK_SECRET, link_shared, record_event
from tests.security.conftest import served

DONE = {"id": "js4", "name": "Done"}
URL = "https://acme.atlassian.net/browse/PROJ-42"


def change_in_jira(harness: Harness, ticket: str = "PROJ-42", **fields: Any) -> None:
    """A change made in the tool itself: the bot has not seen it."""
    harness.sandbox.state.profiles["sandbox-jira"].tickets[ticket].update(fields)


def fields_text(blocks: list[dict[str, Any]]) -> str:
    return str([b for b in blocks if b["type"] in ("section", "context")])


def last_post(harness: Harness) -> dict[str, Any]:
    """The last chat.postMessage, with the ts Slack answered."""
    call = harness.calls("chat.postMessage")[-1]
    return {**call.args, "ts": call.answer["ts"]}


async def posted_card(harness: Harness, text: str = "PROJ-42 priority=high") -> dict[str, Any]:
    await harness.command(text)
    card = last_post(harness)
    harness.reset_counts()
    return card


async def test_a_change_in_the_tool_updates_the_card_in_place(harness: Harness) -> None:
    card = await posted_card(harness)
    change_in_jira(harness, status=DONE)
    response = await harness.truto_event(record_event("updated", "PROJ-42"))
    assert response.status_code == 200
    [update] = harness.calls("chat.update")
    assert update.args["channel"] == JIRA_CHANNEL and update.args["ts"] == card["ts"]
    shown = fields_text(update.args["blocks"])
    assert "*Status*\\nDone" in shown and "Updated <!date^" in shown and "in Jira" in shown
    # Still the record of the change it was posted for, then what changed since.
    [context] = [b for b in update.args["blocks"] if b["type"] == "context"]
    said, now = (e["text"] for e in context["elements"])
    assert said.startswith("<@U0ANA> changed priority Medium → High · <!date^")
    assert now.startswith("Updated <!date^") and now.endswith(" in Jira · now Done")
    assert any(b["type"] == "actions" for b in update.args["blocks"])  # still a working card
    assert harness.api_calls() == [("GET", "/unified/ticketing/tickets/PROJ-42")]
    # The fresh GET is the snapshot: an update now compares with Done, without another GET.
    harness.reset_counts()
    await harness.command("PROJ-42 status=todo")
    assert harness.api_calls() == [("PATCH", "/unified/ticketing/tickets/PROJ-42")]
    assert "status Done → To Do" in str(last(harness.calls("chat.postMessage"))["blocks"])


async def test_the_echo_of_the_bots_own_update_costs_no_slack_call(harness: Harness) -> None:
    await posted_card(harness)
    await harness.truto_event(record_event("updated", "PROJ-42"))
    assert harness.slack.state.calls == []
    assert len(harness.sandbox.state.calls("GET", "/tickets/PROJ-42")) == 1


async def test_a_burst_of_events_for_one_ticket_costs_one_get(harness: Harness) -> None:
    await posted_card(harness)
    change_in_jira(harness, status=DONE)
    harness.run_jobs = False
    answers = [(await harness.truto_event(record_event("updated", "PROJ-42"))).text for _ in range(30)]
    assert answers == ["queued"] + ["coalesced"] * 29
    await harness.bot.worker.drain()
    assert len(harness.sandbox.state.calls("GET", "/tickets/PROJ-42")) == 1
    assert len(harness.calls("chat.update")) == 1
    # After the refresh read the ticket, the next event is a job of its own: no change is missed.
    change_in_jira(harness, priority={"id": "jp1", "name": "Highest"})
    await harness.truto_event(record_event("updated", "PROJ-42"))
    await harness.bot.worker.drain()
    assert "Highest" in fields_text(last(harness.calls("chat.update"))["blocks"])


async def test_a_repeated_event_id_is_handled_once(harness: Harness) -> None:
    await posted_card(harness)
    change_in_jira(harness, status=DONE)
    body = record_event("updated", "PROJ-42", event_id="evt_same")
    first = await harness.truto_event(body)
    change_in_jira(harness, status={"id": "js3", "name": "In Review"})
    again = await harness.truto_event(body)  # the API retrying a delivery
    assert (first.text, again.text) == ("queued", "duplicate")
    assert len(harness.calls("chat.update")) == 1


async def test_a_deleted_message_is_forgotten(harness: Harness) -> None:
    await posted_card(harness)
    harness.slack.state.fail_next("chat.update", error="message_not_found")
    change_in_jira(harness, status=DONE)
    await harness.truto_event(record_event("updated", "PROJ-42"))
    assert len(harness.calls("chat.update")) == 1
    harness.reset_counts()
    change_in_jira(harness, status={"id": "js3", "name": "In Review"})
    await harness.truto_event(record_event("updated", "PROJ-42"))
    assert harness.slack.state.calls == [] and harness.sandbox.state.calls() == []  # no card: no GET


async def test_a_deleted_ticket_turns_its_cards_into_a_line(harness: Harness) -> None:
    card = await posted_card(harness)
    await harness.truto_event(record_event("deleted", "PROJ-42"))
    [update] = harness.calls("chat.update")
    assert update.args["ts"] == card["ts"]
    assert update.args["blocks"] == [
        {"type": "section", "text": {"type": "mrkdwn", "text": "PROJ-42 was deleted in Jira."}}
    ]
    assert harness.sandbox.state.calls() == []  # nothing to read
    await harness.truto_event(record_event("updated", "PROJ-42"))
    assert len(harness.calls("chat.update")) == 1  # forgotten


async def test_events_for_other_accounts_and_resources_are_acknowledged_and_ignored(harness: Harness) -> None:
    await posted_card(harness)
    other_account = record_event("updated", "PROJ-42", account="someone-elses-account")
    response = await harness.truto_event(other_account)
    assert (response.status_code, response.text) == (200, "ignored: not an account of ours")
    contacts = record_event("updated", "PROJ-42").replace(b'"tickets"', b'"contacts"')
    assert (await harness.truto_event(contacts)).text == "ignored: not about tickets"
    assert harness.slack.state.calls == [] and harness.sandbox.state.calls() == []


async def test_an_unfurl_is_unfurled_again_compact(harness: Harness) -> None:
    await harness.event(link_shared([URL], channel=JIRA_CHANNEL))
    harness.reset_counts()
    change_in_jira(harness, status=DONE)
    await harness.truto_event(record_event("updated", "PROJ-42"))
    [unfurl] = harness.calls("chat.unfurl")
    assert unfurl.args["channel"] == JIRA_CHANNEL and unfurl.args["ts"] == "1732770000.000300"
    blocks = unfurl.args["unfurls"][URL]["blocks"]
    assert "*Status*\\nDone" in fields_text(blocks)
    assert all(b["type"] != "actions" for b in blocks)


async def test_where_the_bot_is_not_a_member_the_card_is_kept_up_to_date_through_its_response_url(
    harness: Harness,
) -> None:
    harness.slack.state.fail_next("chat.postMessage", error="not_in_channel")
    await harness.command("PROJ-42 priority=high")
    card = last(harness.calls("response"))
    assert card["response_type"] == "in_channel"
    harness.reset_counts()
    change_in_jira(harness, status=DONE)
    await harness.truto_event(record_event("updated", "PROJ-42"))
    [replaced] = harness.calls("response")
    assert replaced.args["replace_original"] is True and "*Status*\\nDone" in fields_text(
        replaced.args["blocks"]
    )


async def test_a_change_from_another_channel_says_it_was_made_in_slack(harness: Harness) -> None:
    first = await posted_card(harness)
    await harness.command("PROJ-42 priority=low", channel="COTHERJIRA")  # routed to Jira by default
    second = last_post(harness)
    assert second["channel"] == "COTHERJIRA"
    await harness.truto_event(record_event("updated", "PROJ-42"))
    [update] = harness.calls("chat.update")  # the first card only: the second shows this state
    assert update.args["ts"] == first["ts"]
    assert "in Slack" in fields_text(update.args["blocks"])


async def test_without_a_secret_the_receiver_does_not_exist(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> None:
    config = harness_config(sandbox, fake_slack, clean_redis, truto_webhook_secret=None)
    async with running(config, sandbox, fake_slack) as harness:
        response = await harness.truto_event(record_event("updated", "PROJ-42"))
        assert response.status_code == 404
        assert harness.slack.state.calls == [] and sandbox.state.calls() == []


@pytest.fixture
async def live(sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str) -> AsyncIterator[Harness]:
    """The bot on a real loopback port, registered as the sandbox's webhook target."""
    config = harness_config(sandbox, fake_slack, clean_redis)
    async with served(config, sandbox, fake_slack) as harness:
        webhook = sandbox.state.webhooks.create({"target_url": f"{harness.http.base_url}/truto/webhooks"})
        sandbox.state.webhooks.registered[webhook["id"]]["secret"] = WEBHOOK_SECRET
        yield harness


async def delivered(harness: Harness, count: int) -> None:
    """Wait for the sandbox's deliveries to be answered, then run the jobs they queued."""
    deadline = time.monotonic() + 10
    webhooks = harness.sandbox.state.webhooks
    while len([d for d in webhooks.deliveries if d.statuses]) < count:
        assert time.monotonic() < deadline, "the sandbox did not deliver"
        await asyncio.sleep(0.02)
    await harness.bot.worker.drain()


async def test_end_to_end_over_loopback_a_change_made_in_the_tool_reaches_the_card(live: Harness) -> None:
    await live.command("PROJ-42 priority=high")
    card = last_post(live)
    await delivered(live, 1)  # the echo of the bot's own PATCH
    assert live.calls("chat.update") == []
    async with httpx.AsyncClient(base_url=live.sandbox.base_url) as tool:
        changed = await tool.patch("/_sandbox/tickets/sandbox-jira/PROJ-42", json={"status": DONE})
        assert changed.status_code == 200
    await delivered(live, 2)
    [update] = live.calls("chat.update")
    assert (update.args["channel"], update.args["ts"]) == (JIRA_CHANNEL, card["ts"])
    assert "*Status*\\nDone" in fields_text(update.args["blocks"])
    assert [d.statuses for d in live.sandbox.state.webhooks.deliveries] == [[200], [200]]
    assert "Updated" in fields_text(update.args["blocks"]) and "in Jira" in fields_text(update.args["blocks"])


async def test_an_event_for_a_ticket_no_card_shows_costs_nothing(harness: Harness) -> None:
    response = await harness.truto_event(record_event("updated", "PROJ-7"))
    assert (response.status_code, response.text) == (200, "no cards")
    assert harness.slack.state.calls == [] and harness.sandbox.state.calls() == []


async def test_a_signed_test_event_is_answered_and_does_nothing(harness: Harness) -> None:
    body = json.dumps(
        {
            "id": "evt_test_1",
            "event": "test",
            "payload": {},
            "created_at": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        }
    ).encode()
    response = await harness.truto_event(body)
    assert (response.status_code, response.text) == (200, "test received")
    assert harness.slack.state.calls == [] and harness.api_calls() == []


@pytest.mark.parametrize(
    "payload",
    [
        {"integrated_account_id": "sandbox-jira", "resource": "tickets", "records": [{"id": "PROJ-42"}]},
        {"integrated_account_id": "sandbox-jira", "resource": "tickets", "data": {"id": "PROJ-42"}},
        {
            "integrated_account": {"id": "sandbox-jira"},
            "resource": "ticketing/tickets",
            "record": {"id": "PROJ-42"},
        },
    ],
    ids=["records[]", "data", "integrated_account.id"],
)
async def test_record_payloads_in_other_shapes_are_read(harness: Harness, payload: dict[str, Any]) -> None:
    card = await posted_card(harness)
    change_in_jira(harness, status=DONE)
    body = json.dumps(
        {
            "id": f"evt_{payload!s:.8}_{time.time()}",
            "event": "record:updated",
            "payload": payload,
            "created_at": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
        }
    ).encode()
    assert (await harness.truto_event(body)).status_code == 200
    [update] = harness.calls("chat.update")
    assert update.args["ts"] == card["ts"] and "*Status*\\nDone" in fields_text(update.args["blocks"])


async def test_a_card_shown_with_ticket_show_follows_its_ticket(harness: Harness) -> None:
    await harness.command("show PROJ-42")
    [shown] = harness.calls("response")
    assert shown.args["response_type"] == "ephemeral"
    harness.reset_counts()
    change_in_jira(harness, status=DONE)
    await harness.truto_event(record_event("updated", "PROJ-42"))
    [replaced] = harness.calls("response")  # through the command's response_url, in place
    assert replaced.args["replace_original"] is True
    assert "*Status*\\nDone" in fields_text(replaced.args["blocks"])
    actions = next(b for b in replaced.args["blocks"] if b["type"] == "actions")
    assert "ticket_share" in [e["action_id"] for e in actions["elements"]]  # still shareable


async def test_an_event_naming_its_account_outside_the_payload_is_read(harness: Harness) -> None:
    """A record event whose payload names no integrated account is read from the delivery's own
    context (the envelope, or a `context` beside the record) before it is ignored; what is
    ignored is counted by why."""
    import json

    from bot.ops.metrics import WEBHOOK_EVENTS

    await posted_card(harness)
    delivery = json.loads(record_event("updated", "PROJ-42"))
    account = delivery["payload"].pop("integrated_account_id")
    unnamed = json.dumps(delivery).encode()
    before = WEBHOOK_EVENTS.labels("record:updated", "ignored: no integrated account named")._value.get()
    assert (await harness.truto_event(unnamed)).text == "ignored: no integrated account named"
    after = WEBHOOK_EVENTS.labels("record:updated", "ignored: no integrated account named")._value.get()
    assert after == before + 1
    harness.sandbox.state.profiles["sandbox-jira"].tickets["PROJ-42"]["priority"] = {
        "id": "jp1",
        "name": "Highest",
    }
    outside = ({"integrated_account_id": account}, {"context": {"integrated_account_id": account}})
    for n, where in enumerate(outside):
        shaped = {**delivery, **where, "id": f"{delivery['id']}-{n}"}
        assert (await harness.truto_event(json.dumps(shaped).encode())).text == "queued"
