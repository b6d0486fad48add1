"""Who may change what: refusals on every surface, with no call to the ticketing API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.domain.accounts import Permissions, UpdateRule
from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from tests.conftest import JIRA, JIRA_CHANNEL
from tests.scenarios.conftest import Harness, harness_config, last, running
from tests.scenarios.payloads import ANA, BRUNO, block_actions, message_action, view_submission

READ_ONLY = "C0READONLY"


@pytest.fixture
async def guarded_harness(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> AsyncIterator[Harness]:
    permissions = Permissions(
        update=UpdateRule(users=("U0ANA",), usergroups=("S0LEADS",)), read_only_channels=(READ_ONLY,)
    )
    config = harness_config(
        sandbox, fake_slack, clean_redis, jira=JIRA.model_copy(update={"permissions": permissions})
    )
    config = config.model_copy(update={"channels": {**config.channels, READ_ONLY: "jira"}})
    fake_slack.state.usergroups = {"S0LEADS": ["U0CARLA"]}
    async with running(config, sandbox, fake_slack) as harness:
        yield harness


def refusal(harness: Harness) -> str:
    calls = harness.calls("response") + harness.calls("chat.postEphemeral")
    return str(calls[-1].args["text"])


async def test_command_from_someone_not_allowed(guarded_harness: Harness) -> None:
    await guarded_harness.command("PROJ-42 status=done", user=BRUNO)
    assert "You may not change Jira tickets from Slack" in refusal(guarded_harness)
    assert guarded_harness.sandbox.state.calls() == []


async def test_usergroup_members_may_update(guarded_harness: Harness) -> None:
    carla = {"id": "U0CARLA", "username": "carla", "name": "carla", "team_id": "T0TEAM"}
    await guarded_harness.command("PROJ-42 status=done", user=carla)
    assert len(guarded_harness.sandbox.state.calls("PATCH")) == 1


async def test_read_only_channel_allows_show_but_not_update(guarded_harness: Harness) -> None:
    await guarded_harness.command("PROJ-42 status=done", channel=READ_ONLY)
    assert "This channel is read-only for Jira" in refusal(guarded_harness)
    assert guarded_harness.sandbox.state.calls("PATCH") == []
    await guarded_harness.command("show PROJ-42", channel=READ_ONLY)
    card = last(guarded_harness.calls("response"))
    assert card["blocks"][0]["type"] == "header"
    # No Edit, status select or Assign to me where nothing may change: Open in Jira, and Share.
    [actions] = [b for b in card["blocks"] if b["type"] == "actions"]
    assert [e["action_id"] for e in actions["elements"]] == ["ticket_open_url", "ticket_share"]
    await guarded_harness.command("show PROJ-42", channel=JIRA_CHANNEL)  # elsewhere, a working card
    [actions] = [b for b in last(guarded_harness.calls("response"))["blocks"] if b["type"] == "actions"]
    assert "ticket_edit_open" in [e["action_id"] for e in actions["elements"]]


async def test_locked_fields(guarded_harness: Harness) -> None:
    await guarded_harness.command("PROJ-42 created_at=2026-01-01")
    assert (
        refusal(guarded_harness) == "Created at is locked in the ticketbot configuration. Nothing was sent."
    )
    assert guarded_harness.sandbox.state.calls() == []


async def test_edit_and_shortcut_refuse_before_opening_a_form(guarded_harness: Harness) -> None:
    await guarded_harness.command("edit PROJ-42", user=BRUNO)
    assert "You may not change" in refusal(guarded_harness)
    await guarded_harness.interact(
        message_action(
            {"text": "PROJ-42"},
            channel=JIRA_CHANNEL,
            response_url=guarded_harness.slack.response_url(),
            user=BRUNO,
        )
    )
    assert "You may not change" in refusal(guarded_harness)
    assert guarded_harness.calls("views.open") == []
    assert guarded_harness.sandbox.state.calls() == []


async def test_card_buttons_and_modal_submit_check_again(guarded_harness: Harness) -> None:
    await guarded_harness.command("edit PROJ-42", user=ANA)  # Ana may: she gets the form
    view = last(guarded_harness.calls("views.update"))["view"]
    view_id = last(guarded_harness.calls("views.update"))["view_id"]
    await guarded_harness.command("show PROJ-42", user=ANA)
    card = last(guarded_harness.calls("response"))["blocks"]
    button = next(
        e
        for b in card
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "ticket_assign_me"
    )
    guarded_harness.reset_counts()
    # Bruno presses Ana's card button, and submits a form he got hold of.
    await guarded_harness.interact(
        block_actions(
            {"action_id": "ticket_assign_me", "block_id": "x", "type": "button", "value": button["value"]},
            channel=JIRA_CHANNEL,
            response_url=guarded_harness.slack.response_url(),
            user=BRUNO,
        )
    )
    assert "You may not change" in refusal(guarded_harness)
    values: dict[str, Any] = {
        "field_name": {"value": {"type": "plain_text_input", "value": "Renamed by Bruno"}}
    }
    await guarded_harness.interact(view_submission({**view, "id": view_id}, values, user=BRUNO))
    assert "You may not change" in refusal(guarded_harness)
    assert guarded_harness.sandbox.state.calls("PATCH") == []
