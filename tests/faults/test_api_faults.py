"""Faults of the ticketing API and of Slack, injected end to end: nothing lost, nothing twice."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from tests.conftest import JIRA_CHANNEL
from tests.scenarios.conftest import Harness, harness_config, last, running
from tests.scenarios.payloads import block_actions


@pytest.fixture
async def fast(sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str) -> AsyncIterator[Harness]:
    """The app with a short API timeout, so timeouts are quick to provoke."""
    config = harness_config(sandbox, fake_slack, clean_redis, truto_timeout=0.5)
    async with running(config, sandbox, fake_slack) as harness:
        yield harness


def answer(harness: Harness) -> dict[str, Any]:
    return last(harness.calls("response"))


def card_posted_then_notice_removed(harness: Harness) -> bool:
    removal = last(harness.calls("response"))
    return bool(harness.calls("chat.postMessage")) and removal.get("delete_original") is True


async def retry(harness: Harness, message: dict[str, Any]) -> None:
    button = message["blocks"][1]["elements"][0]
    assert button["action_id"] == "ticket_retry"
    await harness.interact(
        block_actions(
            {"action_id": "ticket_retry", "block_id": "r", "type": "button", "value": button["value"]},
            channel=JIRA_CHANNEL,
            response_url=harness.slack.response_url(),
            ephemeral=True,
        )
    )


async def test_rate_limit_within_the_deadline_is_waited_out(harness: Harness) -> None:
    harness.sandbox.state.fail_next(429, retry_after=1, method="PATCH")
    await harness.command("PROJ-42 status=done")
    assert [c.status for c in harness.sandbox.state.calls("PATCH")] == [429, 200]
    assert last(harness.calls("chat.postMessage"))["channel"] == JIRA_CHANNEL


async def test_rate_limit_past_the_jobs_patience_says_when_and_offers_retry(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> None:
    config = harness_config(sandbox, fake_slack, clean_redis, job_patience_seconds=5)
    async with running(config, sandbox, fake_slack) as harness:
        await _past_patience(harness)


async def test_a_long_rate_limit_wait_is_announced_once_then_replaced_by_the_card(harness: Harness) -> None:
    waits: list[float] = []

    async def no_wait(seconds: float) -> None:
        waits.append(seconds)

    harness.core.client._sleep = no_wait  # the wait itself is not what is tested
    harness.sandbox.state.fail_next(429, retry_after=40, times=2, method="PATCH")
    await harness.command("PROJ-42 status=done")
    note, removal = (c.args for c in harness.calls("response"))
    card = last(harness.calls("chat.postMessage"))
    assert note["text"] == "PROJ-42: queued behind Jira's rate limit; it will be applied in about 40 s."
    assert ":warning:" not in str(note["blocks"])
    assert removal == {"delete_original": True}
    assert card["channel"] == JIRA_CHANNEL
    assert waits == [40.0, 40.0]
    assert harness.sandbox.state.patches_applied == 1


async def test_a_refusal_offers_no_retry(harness: Harness) -> None:
    harness.sandbox.state.fail_next(422, method="PATCH", body={"message": "Transition not allowed"})
    await harness.command("PROJ-42 status=done")
    message = answer(harness)
    assert message["text"] == "PROJ-42 was not updated: Jira refused the change: Transition not allowed."
    assert "actions" not in [b["type"] for b in message["blocks"]]


async def _past_patience(harness: Harness) -> None:
    harness.sandbox.state.fail_next(429, retry_after=30, method="PATCH")
    await harness.command("PROJ-42 status=done")
    message = answer(harness)
    assert message["text"] == "PROJ-42 was not updated: Jira is busy (rate limit); try again in about 30 s."
    await retry(harness, message)
    assert harness.sandbox.state.patches_applied == 1
    assert card_posted_then_notice_removed(harness)


async def test_server_errors_then_retry_button_applies_once(harness: Harness) -> None:
    harness.sandbox.state.fail_next(502, times=3, method="PATCH")
    await harness.command("PROJ-42 priority=high")
    message = answer(harness)
    assert "is unavailable right now" in message["text"]
    await retry(harness, message)
    patches = harness.sandbox.state.calls("PATCH")
    assert [c.status for c in patches] == [502, 502, 502, 200]
    assert len({c.headers["idempotency-key"] for c in patches}) == 1
    assert harness.sandbox.state.patches_applied == 1
    await retry(harness, message)  # the same button again: the job is gone
    assert "already retried" in answer(harness)["text"]
    assert harness.sandbox.state.patches_applied == 1


@pytest.mark.slow
async def test_timeouts_that_did_land_are_not_applied_twice(fast: Harness) -> None:
    # The API is slow: every try times out on our side, but the first one lands upstream.
    fast.sandbox.state.fail_next(delay=1.0, times=3, method="PATCH")
    await fast.command("PROJ-42 status=done")
    message = answer(fast)
    assert "unavailable right now" in message["text"]
    await retry(fast, message)
    assert fast.sandbox.state.patches_applied == 1  # the same Idempotency-Key every time
    assert card_posted_then_notice_removed(fast)


async def test_validation_insight_names_the_fields(harness: Harness) -> None:
    insight = {
        "message": "",
        "truto_error_insight": {
            "missing_required_body_fields": {
                "description": "These fields are required by the unified model.",
                "value": ["resolution", "fix_version"],
            }
        },
    }
    harness.sandbox.state.fail_next(400, method="PATCH", body=insight)
    await harness.command("PROJ-42 status=done")
    assert (
        answer(harness)["text"]
        == "PROJ-42 was not updated: Jira needs resolution, fix_version for this change."
    )


@pytest.mark.parametrize(
    ("status", "said", "body"),
    [
        (401, "needs to be re-authorised", {"truto_is_remote_error": True}),
        (401, "token for the unified ticketing API is not valid", {}),
        (403, "lacks a permission (scope)", {}),
        (405, "refuses changes (it is a sandbox or read-only connection)", {}),
        (503, "has blocked this connected account", {}),
    ],
)
async def test_account_problems_are_said_plainly(
    harness: Harness, status: int, said: str, body: dict[str, object]
) -> None:
    harness.sandbox.state.fail_next(status, times=3, method="PATCH", body=body)
    await harness.command("PROJ-42 status=done")
    assert said in answer(harness)["text"]
    assert harness.sandbox.state.patches_applied == 0


async def test_slack_rate_limit_on_views_update_is_retried(harness: Harness) -> None:
    harness.slack.state.fail_next("views.update", status=429, retry_after=0)
    await harness.command("edit PROJ-42")
    updates = harness.calls("views.update")
    assert [u.answer.get("ok") for u in updates] == [False, True]
    assert updates[1].args["view"]["callback_id"] == "ticket_edit"


async def test_a_slack_retry_of_the_same_command_is_one_job(harness: Harness) -> None:
    from tests.scenarios.payloads import slash_command

    body = slash_command("PROJ-42 status=done", JIRA_CHANNEL, harness.slack.response_url())
    await harness.post(body, "application/x-www-form-urlencoded")
    await harness.post(body, "application/x-www-form-urlencoded")
    assert len(harness.sandbox.state.calls("PATCH")) == 1
    assert len(harness.calls("chat.postMessage")) == 1
