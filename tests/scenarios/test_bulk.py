"""Bulk updates: many tickets in one command, as safe as one."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.domain.accounts import Account, Permissions, UpdateRule
from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from tests.conftest import JIRA, JIRA_CHANNEL
from tests.scenarios.conftest import Harness, harness_config, last, running
from tests.scenarios.payloads import ANA, BRUNO, block_actions, sign, slash_command

HIGH = {"priority": {"id": "jp2", "name": "High"}}


def button(blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    return next(
        e for b in blocks if b["type"] == "actions" for e in b["elements"] if e["action_id"] == action_id
    )


async def press(
    harness: Harness, blocks: list[dict[str, Any]], action_id: str, user: dict[str, str] | None = None
) -> None:
    value = button(blocks, action_id)["value"]
    payload = block_actions(
        {"action_id": action_id, "block_id": "b", "type": "button", "value": value},
        channel=JIRA_CHANNEL,
        response_url=harness.slack.response_url(),
        **({"user": user} if user else {}),
    )
    await harness.interact(payload)


def patches(harness: Harness) -> dict[str, Any]:
    return {c.path.rsplit("/", 1)[1]: c.body for c in harness.sandbox.state.calls("PATCH")}


def text_of(blocks: list[dict[str, Any]]) -> str:
    return "\n".join(str((b.get("text") or {}).get("text", "")) for b in blocks)


async def test_three_tickets_apply_directly_with_one_summary(harness: Harness) -> None:
    await harness.command("update PROJ-1 PROJ-2,PROJ-3 priority=high")
    assert patches(harness) == {"PROJ-1": HIGH, "PROJ-2": HIGH, "PROJ-3": HIGH}
    keys = {c.headers["idempotency-key"] for c in harness.sandbox.state.calls("PATCH")}
    assert len(keys) == 3  # one key per ticket, each derived from the command's
    [progress] = harness.calls("chat.postMessage")  # one message in the channel, not 3 cards
    assert progress.args["channel"] == JIRA_CHANNEL and progress.args["text"] == "Updating 3 tickets… 0 done"
    summary = last(harness.calls("chat.update"))
    assert summary["ts"] == progress.answer["ts"]
    assert summary["text"] == "<@U0ANA> updated 3 tickets: priority → High"
    assert (
        "Done: <https://acme.atlassian.net/browse/PROJ-1|PROJ-1>, "
        "<https://acme.atlassian.net/browse/PROJ-2|PROJ-2>, <https://acme.atlassian.net/browse/PROJ-3|PROJ-3>"
    ) in text_of(summary["blocks"])
    assert (
        button(summary["blocks"], "ticket_bulk_undo")["confirm"]["title"]["text"] == "Undo this bulk update?"
    )


async def test_a_bad_value_refuses_every_ticket_and_sends_nothing(harness: Harness) -> None:
    await harness.command("update PROJ-1 PROJ-2 PROJ-3 PROJ-4 priority=sky-high")
    answer = last(harness.calls("response"))
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == (
        "Nothing was sent: priority: no priority matches 'sky-high'; did you mean High? "
        "Accepted: Highest, High, Medium, Low, Lowest."
    )
    assert harness.sandbox.state.calls("PATCH") == []
    assert harness.calls("chat.postMessage") == []


async def test_an_unknown_ticket_refuses_the_command(harness: Harness) -> None:
    await harness.command("update PROJ-1 PROJ-999 priority=high")
    assert last(harness.calls("response"))["text"] == "Nothing was sent:\n• PROJ-999: No PROJ-999 in Jira."
    assert harness.sandbox.state.calls("PATCH") == []


async def test_too_many_tickets_are_refused_in_the_ack(harness: Harness) -> None:
    response = await harness.command("update PROJ-1..PROJ-40 PROJ-41..PROJ-55 priority=high")
    assert response.json()["text"].startswith("55 tickets in one command; at most 50")
    assert harness.sandbox.state.calls() == []


@pytest.fixture
async def roomy(sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str) -> AsyncIterator[Harness]:
    """The whole API budget for bulk work: this test is about what is sent, not when."""
    config = harness_config(sandbox, fake_slack, clean_redis, bulk_budget_share=1.0)
    async with running(config, sandbox, fake_slack) as harness:
        yield harness


async def test_ten_tickets_preview_apply_progress_summary_and_undo(roomy: Harness) -> None:
    harness = roomy
    harness.sandbox.state.profiles["sandbox-jira"].tickets["PROJ-7"]["priority"] = HIGH["priority"]
    await harness.command("update PROJ-1..PROJ-10 priority=high")
    assert harness.sandbox.state.calls("PATCH") == []
    preview = last(harness.calls("response"))
    shown = text_of(preview["blocks"])
    assert shown.startswith("*Preview of 10 tickets*, 9 to change: nothing is sent until you apply it.")
    assert "*<https://acme.atlassian.net/browse/PROJ-1|PROJ-1>* priority Medium → High" in shown
    assert "Nothing to change on <https://acme.atlassian.net/browse/PROJ-7|PROJ-7>" in shown
    harness.reset_counts()
    await press(harness, preview["blocks"], "ticket_preview_apply")
    sent = patches(harness)
    assert sent == {f"PROJ-{n}": HIGH for n in range(1, 11) if n != 7}
    assert len(harness.sandbox.state.calls("GET")) == 9  # the check that nothing changed since
    summary = last(harness.calls("chat.update"))
    assert summary["text"] == "<@U0ANA> updated 9 tickets: priority → High"
    assert "Skipped: <https://acme.atlassian.net/browse/PROJ-7|PROJ-7>: nothing to change" in text_of(
        summary["blocks"]
    )
    # Someone changes PROJ-3 meanwhile: the Undo leaves it alone and says so.
    harness.sandbox.state.profiles["sandbox-jira"].tickets["PROJ-3"]["priority"] = {
        "id": "jp5",
        "name": "Lowest",
    }
    harness.reset_counts()
    await press(harness, summary["blocks"], "ticket_bulk_undo")
    assert patches(harness) == {
        f"PROJ-{n}": {"priority": {"id": "jp3", "name": "Medium"}} for n in (1, 2, 4, 5, 6, 8, 9, 10)
    }
    undone = last(harness.calls("chat.update"))
    assert undone["text"] == "<@U0ANA> undid a bulk update on 8 tickets"
    assert (
        "Skipped: <https://acme.atlassian.net/browse/PROJ-3|PROJ-3>: priority (now Lowest) changed since"
        in text_of(undone["blocks"])
    )
    [thread] = harness.calls("chat.postMessage")
    assert thread.args["thread_ts"] == summary["ts"]  # the undo is told under the batch it undoes


async def test_an_undo_works_once(harness: Harness) -> None:
    await harness.command("update PROJ-1 PROJ-2 priority=high")
    summary = last(harness.calls("chat.update"))
    await press(harness, summary["blocks"], "ticket_bulk_undo")
    harness.reset_counts()
    await press(harness, summary["blocks"], "ticket_bulk_undo")
    assert "Undo is no longer available: it was used already" in last(harness.calls("response"))["text"]
    assert harness.sandbox.state.calls("PATCH") == []


async def test_a_changed_ticket_is_previewed_again_not_overwritten(harness: Harness) -> None:
    await harness.command("update PROJ-1..PROJ-4 priority=high")
    preview = last(harness.calls("response"))
    ticket = harness.sandbox.state.profiles["sandbox-jira"].tickets["PROJ-2"]
    ticket.update(priority={"id": "jp1", "name": "Highest"}, updated_at="2026-11-29T10:00:00Z")
    await press(harness, preview["blocks"], "ticket_preview_apply")
    assert harness.sandbox.state.calls("PATCH") == []
    again = last(harness.calls("response"))
    assert again["replace_original"] is True
    assert text_of(again["blocks"]).startswith("PROJ-2 changed since that preview, so nothing was sent")
    assert "PROJ-2|PROJ-2>* priority Highest → High" in text_of(again["blocks"])


async def test_failed_tickets_are_listed_with_their_cause_and_retried_alone(harness: Harness) -> None:
    harness.sandbox.state.fail_next(500, times=3, method="PATCH", path_contains="PROJ-2")
    await harness.command("update PROJ-1 PROJ-2 PROJ-3 priority=high")
    summary = last(harness.calls("chat.update"))
    assert summary["text"] == "<@U0ANA> updated 2 tickets: priority → High"
    assert "Failed: <https://acme.atlassian.net/browse/PROJ-2|PROJ-2>: " in text_of(summary["blocks"])
    assert button(summary["blocks"], "ticket_bulk_retry")["text"]["text"] == "Retry 1 failed"
    harness.reset_counts()
    await press(harness, summary["blocks"], "ticket_bulk_retry")
    assert patches(harness) == {"PROJ-2": HIGH}
    assert last(harness.calls("chat.update"))["text"] == "<@U0ANA> updated 3 tickets: priority → High"


async def test_permissions_are_checked_per_ticket_account_before_anything_is_sent(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> None:
    linear = Account(
        name="linear",
        integrated_account_id="sandbox-linear",
        tool="Linear",
        ticket_url_template="https://linear.app/acme/issue/{ref}",
        permissions=Permissions(update=UpdateRule(users=("U0BRUNO",))),
    )
    config = harness_config(sandbox, fake_slack, clean_redis, jira=JIRA, linear=linear)
    async with running(config, sandbox, fake_slack) as harness:
        text = "update PROJ-1 https://linear.app/acme/issue/ENG-2 priority=high"
        await harness.command(text)  # Ana may change Jira tickets, not Linear ones
        assert "You may not change Linear tickets from Slack" in last(harness.calls("response"))["text"]
        assert harness.sandbox.state.calls("PATCH") == []
        await harness.command(text, user=BRUNO)  # Bruno may change both
        accounts = {dict(c.query)["integrated_account_id"]: c.path for c in sandbox.state.calls("PATCH")}
        assert accounts == {
            "sandbox-jira": "/unified/ticketing/tickets/PROJ-1",
            "sandbox-linear": "/unified/ticketing/tickets/ENG-2",
        }


async def acked_only(harness: Harness, text: str, user: dict[str, str] | None = None) -> None:
    """A command sent and acknowledged; what it queued is left to the running worker."""
    body = slash_command(text, JIRA_CHANNEL, harness.slack.response_url(), user or ANA)
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
    assert (await harness.http.post("/slack/events", content=body, headers=headers)).status_code == 200


@pytest.mark.slow
async def test_a_single_update_is_not_held_back_by_a_batch(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> None:
    """Under the 50 requests / 10 s budget, a 50-ticket batch (50 GETs and 50 PATCHes) takes
    its share only: a single update sent during it is applied within seconds of its ack."""
    sandbox.state.rate_limit = (50, 10.0)
    config = harness_config(sandbox, fake_slack, clean_redis, truto_rate_limit=50, bulk_preview_above=60)
    async with running(config, sandbox, fake_slack) as harness:
        harness.run_jobs = False
        await harness.command("help")  # warm the lookups outside the measured window
        worker = asyncio.create_task(harness.bot.worker.run())
        try:
            await acked_only(harness, "update PROJ-1..PROJ-50 priority=high")
            while len(sandbox.state.calls("GET", "/tickets/")) < 45:  # noqa: ASYNC110 - reading its tickets
                await asyncio.sleep(0.05)
            await acked_only(harness, "PROJ-55 priority=low", BRUNO)
            acked = time.monotonic()
            while not [c for c in sandbox.state.calls("PATCH", "PROJ-55") if c.status == 200]:
                assert time.monotonic() - acked < 3.0, "the single update waited behind the batch"
                await asyncio.sleep(0.05)
            print(f"single update applied {time.monotonic() - acked:.2f} s after its ack")
            batch_patches = len([c for c in sandbox.state.calls("PATCH") if "PROJ-55" not in c.path])
            assert batch_patches < 50  # the batch was still under way
        finally:
            await harness.bot.worker.shutdown(0.1)
            worker.cancel()


async def test_a_bulk_refusal_lists_one_line_per_ticket(harness: Harness) -> None:
    await harness.command("update PROJ-1 PROJ-998 PROJ-999 priority=high")
    assert last(harness.calls("response"))["text"] == (
        "Nothing was sent:\n• PROJ-998: No PROJ-998 in Jira.\n• PROJ-999: No PROJ-999 in Jira."
    )
    assert harness.sandbox.state.calls("PATCH") == []
