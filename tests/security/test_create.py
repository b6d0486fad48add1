"""Creating tickets under attack: someone who may not update (or a channel where nobody may, or
an account where creating is off, or a guest) creates nothing; forged or altered form metadata,
another person's form, a forged "Open the form" or Undo, and captured bytes sent again create
(or delete) nothing more; a message's hostile text reaches the card as text, never as markup."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from blocks import ids
from bot.domain.accounts import Permissions, UpdateRule
from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from tests.conftest import JIRA, JIRA_CHANNEL
from tests.scenarios.conftest import Harness, harness, harness_config, last, running
from tests.scenarios.payloads import ANA, BRUNO, block_actions, form, message_action, sign, slash_command
from tests.scenarios.test_create import _select, button, card_posted, creates, open_form, submit_form
from tests.security.test_abuse import send_signed

__all__ = ["harness"]  # the fixture

READ_ONLY = "C0READONLY"
COMPLETE = 'create "Checkout fails" project=PROJ type=Bug cf.severity=major'


def refusal(harness: Harness, answer: Any = None) -> str:
    """The ack's own answer when it refused, else the last private answer."""
    if answer is not None and answer.content:
        return str(answer.json()["text"])
    calls = harness.calls("response") + harness.calls("chat.postEphemeral")
    return str(calls[-1].args["text"])


@pytest.fixture
async def limited(sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str) -> AsyncIterator[Harness]:
    permissions = Permissions(update=UpdateRule(users=("U0ANA",)), read_only_channels=(READ_ONLY,))
    config = harness_config(
        sandbox, fake_slack, clean_redis, jira=JIRA.model_copy(update={"permissions": permissions})
    )
    config = config.model_copy(update={"channels": {**config.channels, READ_ONLY: "jira"}})
    async with running(config, sandbox, fake_slack) as running_harness:
        yield running_harness


async def test_create_is_refused_where_update_is_refused(limited: Harness) -> None:
    answer = await limited.command(COMPLETE, user=BRUNO)  # not among the people who may update
    assert "You may not change Jira tickets from Slack" in refusal(limited, answer)
    answer = await limited.command(COMPLETE, channel=READ_ONLY)
    assert "This channel is read-only for Jira" in refusal(limited, answer)
    await limited.command("create", user=BRUNO)  # the form does not open either
    assert limited.calls("views.open") == []
    shortcut = message_action({"text": "a bug"}, channel=READ_ONLY, response_url=limited.slack.response_url())
    shortcut["callback_id"] = ids.CREATE_SHORTCUT
    await limited.interact(shortcut)
    assert limited.calls("views.open") == [] and "read-only" in refusal(limited)
    assert creates(limited) == [] and limited.sandbox.state.created == []


async def test_a_guest_and_an_account_with_creating_off_create_nothing(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> None:
    off = Permissions(create=False)
    config = harness_config(
        sandbox, fake_slack, clean_redis, jira=JIRA.model_copy(update={"permissions": off})
    )
    async with running(config, sandbox, fake_slack) as harness_off:
        answer = await harness_off.command(COMPLETE)
        assert "Creating Jira tickets from Slack is turned off" in refusal(harness_off, answer)
        assert creates(harness_off) == []
    config = harness_config(sandbox, fake_slack, clean_redis)
    async with running(config, sandbox, fake_slack) as guarded:
        guarded.slack.state.guests["U0BRUNO"] = "restricted"
        answer = await guarded.command(COMPLETE, user=BRUNO)
        assert creates(guarded) == [] and "guest" in refusal(guarded, answer).lower()


async def test_forged_altered_or_someone_elses_form_creates_nothing(harness: Harness) -> None:
    form_view = await open_form(harness)
    values = {
        ids.field_block("collections"): _select("jc1", "PROJ"),
        ids.field_block("ticket_type"): _select("jt1", "Bug"),
        ids.field_block("name"): {"type": "plain_text_input", "value": "x"},
        "cf:one:severity": _select("major", "Major"),
    }
    # Another person submitting the form opened for Ana (its metadata names her).
    assert (await submit_form(harness, form_view, values, user=BRUNO)).json()["response_action"] == "errors"
    # Metadata altered (another account, another channel): its signature no longer verifies.
    signed = form_view["private_metadata"]
    altered = {**form_view, "private_metadata": signed[:-2] + ("AA" if not signed.endswith("AA") else "BB")}
    assert (await submit_form(harness, altered, values)).json()["response_action"] == "errors"
    # An input added that the form never had (the signed digest of its inputs differs).
    extra = {
        **form_view,
        "blocks": [*form_view["blocks"], {"type": "input", "block_id": "field_completed_at"}],
    }
    assert (await submit_form(harness, extra, values)).json()["response_action"] == "errors"
    # Metadata copied from another workspace's form: signed with another secret.
    assert creates(harness) == []


async def test_a_replayed_create_command_creates_one_ticket(harness: Harness) -> None:
    """The same signed bytes sent again (well inside the 5 minutes a signature is valid)."""
    body = slash_command(COMPLETE, JIRA_CHANNEL, harness.slack.response_url())
    headers = sign(body)
    assert await send_signed(harness, body, headers) == 200
    await asyncio.sleep(0.3)
    await send_signed(harness, body, headers)
    assert len(harness.sandbox.state.created) == 1
    cards = [c for c in harness.calls("chat.postMessage") if "created" in str(c.args.get("blocks"))]
    assert len(cards) == 1


async def test_a_replayed_or_double_submitted_form_creates_one_ticket(harness: Harness) -> None:
    form_view = await open_form(harness)
    values: dict[str, Any] = {
        ids.field_block("collections"): _select("jc1", "PROJ"),
        ids.field_block("ticket_type"): _select("jt1", "Bug"),
        ids.field_block("name"): {"type": "plain_text_input", "value": "Once"},
        "cf:one:severity": _select("major", "Major"),
    }
    from tests.scenarios.payloads import view_submission

    state = {block: {ids.FIELD_ACTION: value} for block, value in values.items()}
    body = form(view_submission({**form_view, "id": "V0ONCE", "hash": "h"}, state))
    headers = sign(body)
    await send_signed(harness, body, headers)
    await asyncio.sleep(0.3)
    await send_signed(harness, body, headers)
    assert len(harness.sandbox.state.created) == 1


async def test_forged_or_someone_elses_open_the_form_and_undo_do_nothing(harness: Harness) -> None:
    harness.sandbox.state.fail_next(delay=1.0, method="GET", path_contains="/tickets/meta/create")
    await harness.command('create "Half" priority=low')
    opener = button(last(harness.calls("response"))["blocks"], ids.CREATE_FORM_BUTTON)

    async def click(action_id: str, value: str, user: dict[str, str] = ANA) -> None:
        await harness.interact(
            block_actions(
                {"action_id": action_id, "block_id": "b", "type": "button", "value": value},
                channel=JIRA_CHANNEL,
                response_url=harness.slack.response_url(),
                user=user,
            )
        )

    await click(ids.CREATE_FORM_BUTTON, opener["value"][:-2] + "AA")
    await click(ids.CREATE_FORM_BUTTON, opener["value"], user=BRUNO)
    assert harness.calls("views.open") == []
    assert "Only the person who typed" in refusal(harness)
    await harness.command(COMPLETE)
    undo = button(card_posted(harness)["blocks"], ids.UNDO_CREATE)
    await click(ids.UNDO_CREATE, undo["value"][:-2] + "AA")
    await click(ids.UNDO_CREATE, undo["value"], user=BRUNO)
    assert harness.sandbox.state.calls("DELETE") == []
    assert "PROJ-61" in harness.sandbox.state.profiles["sandbox-jira"].tickets


async def test_a_hostile_message_becomes_text_in_the_card_never_markup(harness: Harness) -> None:
    hostile = "<!channel> *URGENT* <https://evil.example/login|Jira login> &lt;script&gt; @everyone"
    shortcut = message_action(
        {"text": hostile, "ts": "1732770000.000900"},
        channel=JIRA_CHANNEL,
        response_url=harness.slack.response_url(),
    )
    shortcut["callback_id"] = ids.CREATE_SHORTCUT
    await harness.interact(shortcut)
    form_view = last(harness.calls("views.update"))["view"]
    title = next(b for b in form_view["blocks"] if b.get("block_id") == ids.field_block("name"))
    typed = title["element"]["initial_value"]
    assert "<!channel>" not in typed and "evil.example" in typed  # the link written out, as text
    values = {
        ids.field_block("collections"): _select("jc1", "PROJ"),
        ids.field_block("ticket_type"): _select("jt1", "Bug"),
        ids.field_block("name"): {"type": "plain_text_input", "value": typed + " <@U0ANA> <!here>"},
        "cf:one:severity": _select("major", "Major"),
    }
    await submit_form(harness, form_view, values)
    card = next(
        c.args
        for c in harness.calls("chat.postMessage")
        if c.args.get("thread_ts") == "1732770000.000900" and "created" in str(c.args.get("blocks"))
    )
    # What Slack reads as markup: the fallback text and every mrkdwn text (a header is plain text).
    shown = " ".join([card["text"], *mrkdwn_texts(card["blocks"])])
    for markup in ("<!channel>", "<!here>", "<@U0ANA> <!here>", "<https://evil.example"):
        assert markup not in shown, markup
    assert "&lt;@U0ANA&gt; &lt;!here&gt;" in card["text"]  # the title's own, escaped
    header = next(b for b in card["blocks"] if b["type"] == "header")
    assert header["text"]["type"] == "plain_text"


def mrkdwn_texts(value: Any) -> list[str]:
    if isinstance(value, dict):
        found = [str(value["text"])] if value.get("type") == "mrkdwn" else []
        return found + [t for v in value.values() for t in mrkdwn_texts(v)]
    if isinstance(value, list):
        return [t for v in value for t in mrkdwn_texts(v)]
    return []


async def test_unsigned_forged_or_oversized_creates_do_nothing(harness: Harness) -> None:
    """Every create surface rides the one signed route: a command, a form submission or a step
    without a valid signature (or past the body limit) is refused before anything is read."""
    command = slash_command(COMPLETE, JIRA_CHANNEL, harness.slack.response_url())
    shortcut = message_action(
        {"text": "a bug"}, channel=JIRA_CHANNEL, response_url=harness.slack.response_url()
    )
    shortcut["callback_id"] = ids.CREATE_SHORTCUT
    for body in (command, form(shortcut)):
        for headers in ({}, {**sign(body), "X-Slack-Signature": "v0=" + "0" * 64}):
            response = await harness.http.post(
                "/slack/events",
                content=body,
                headers={"Content-Type": "application/x-www-form-urlencoded", **headers},
            )
            await harness.bot.worker.drain()
            assert response.status_code == 401
    huge = slash_command('create "' + "x" * 2_000_000 + '"', JIRA_CHANNEL, harness.slack.response_url())
    response = await harness.http.post(
        "/slack/events",
        content=huge,
        headers={"Content-Type": "application/x-www-form-urlencoded", **sign(huge)},
    )
    assert response.status_code == 413
    await harness.bot.worker.drain()
    assert harness.sandbox.state.calls() == [] and harness.calls("views.open") == []
