"""Custom fields in the edit modal, over signed HTTP: required and configured fields get inputs
of their kind; only changed ones are sent, typed; a bad number is answered on its input."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.domain.accounts import Permissions
from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from tests.conftest import JIRA, LINEAR_CHANNEL
from tests.scenarios.conftest import Harness, harness_config, last, running
from tests.scenarios.payloads import block_suggestion, view_submission
from tests.scenarios.test_views import open_form, option, unchanged_state

SHOWN = ("story_points", "Components", "reviewed", "release_date", "deployed_at", "reviewer", "sprint")


@pytest.fixture
async def custom(sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str) -> AsyncIterator[Harness]:
    jira = JIRA.model_copy(update={"form_custom_fields": SHOWN})
    async with running(harness_config(sandbox, fake_slack, clean_redis, jira=jira), sandbox, fake_slack) as h:
        yield h


def custom_blocks(view: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in view["blocks"] if b.get("block_id", "").startswith("cf:")}


async def test_required_and_configured_fields_get_inputs_of_their_kind(custom: Harness) -> None:
    view = await open_form(custom)
    blocks = custom_blocks(view)
    assert list(blocks) == [
        "cf:one:severity",  # required by the tool, so first and not optional
        "cf:number:story_points",
        "cf:many:components",
        "cf:bool:reviewed",
        "cf:date:release_date",
        "cf:datetime:deployed_at",
        "cf:user:reviewer",
    ]  # "sprint" names no field: left out (and logged)
    assert blocks["cf:one:severity"]["optional"] is False
    assert blocks["cf:number:story_points"]["element"]["initial_value"] == "3"
    assert [o["value"] for o in blocks["cf:many:components"]["element"]["initial_options"]] == ["web"]
    assert view["blocks"][-1]["block_id"] == "field_description"


async def test_changed_custom_fields_are_sent_typed_and_nothing_else(custom: Harness) -> None:
    view = await open_form(custom)
    values = unchanged_state(view)
    values["cf:number:story_points"]["value"]["value"] = "5"
    values["cf:one:severity"]["value"]["selected_option"] = option("critical", "Critical")
    values["cf:many:components"]["value"]["selected_options"].append(option("api", "API"))
    values["cf:bool:reviewed"]["value"]["selected_option"] = option("true", "Yes")
    values["cf:datetime:deployed_at"]["value"]["selected_date_time"] = 1795793400
    values["cf:user:reviewer"]["value"]["selected_option"] = option("ju0004", "Carla Mendes")
    custom.reset_counts()
    response = await custom.interact(view_submission(view, values))
    assert response.status_code == 200 and response.content == b""
    [patch] = custom.sandbox.state.calls("PATCH")
    assert patch.body == {
        "custom_fields": {
            "story_points": 5,
            "severity": "critical",
            "components": ["web", "api"],
            "reviewed": True,
            "deployed_at": "2026-11-27T15:30:00Z",
            "reviewer": "ju0004",
        }
    }
    card = last(custom.calls("chat.postMessage"))
    assert "Story points 3 → 5" in str(card["blocks"])


async def test_emptying_a_custom_field_clears_it(custom: Harness) -> None:
    view = await open_form(custom)
    values = unchanged_state(view)
    values["cf:number:story_points"]["value"]["value"] = None
    custom.reset_counts()
    await custom.interact(view_submission(view, values))
    [patch] = custom.sandbox.state.calls("PATCH")
    assert patch.body == {"custom_fields": {"story_points": None}}


async def test_a_bad_number_is_answered_on_its_input(custom: Harness) -> None:
    view = await open_form(custom)
    values = unchanged_state(view)
    values["cf:number:story_points"]["value"]["value"] = "lots"
    response = await custom.interact(view_submission(view, values))
    assert response.json() == {
        "response_action": "errors",
        "errors": {"cf:number:story_points": "Enter a number, e.g. 3 or 2.5 (got 'lots')."},
    }
    assert custom.sandbox.state.calls("PATCH") == []


async def test_a_user_field_searches_the_cached_users(custom: Harness) -> None:
    view = await open_form(custom)
    custom.reset_counts()
    response = await custom.interact(block_suggestion(view, "cf:user:reviewer", "carla m"))
    options = response.json()["options"]
    assert options[0] == option("ju0004", "Carla Mendes")  # the exact name first
    assert len(options) > 1  # then other Carlas whose surname starts with M, and similar names
    assert custom.api_calls() == []


async def test_a_tool_without_definitions_shows_no_custom_inputs(custom: Harness) -> None:
    await custom.command("edit ENG-7", channel=LINEAR_CHANNEL)
    view = last(custom.calls("views.update"))["view"]
    assert view["blocks"][-1]["block_id"] == "field_description"
    assert custom_blocks(view) == {}


async def test_a_select_field_searches_its_own_options(custom: Harness) -> None:
    view = await open_form(custom)
    response = await custom.interact(block_suggestion(view, "cf:one:severity", "maj"))
    assert response.json()["options"] == [option("major", "Major")]


def field_blocks(view: dict[str, Any]) -> list[str]:
    return [b["block_id"] for b in view["blocks"] if b["type"] == "input"]


async def test_fields_the_tool_does_not_take_are_left_out_of_the_form(custom: Harness) -> None:
    await custom.command("edit ENG-7", channel=LINEAR_CHANNEL)
    assert field_blocks(last(custom.calls("views.update"))["view"]) == [
        "field_name",
        "field_status",
        "field_priority",
        "field_assignees",
        "field_tags",
        "field_team",
        "field_collections",
        "field_parent_ticket",
        "field_completed_at",
        "field_description",
    ]  # Linear takes no due_date or ticket_type


async def test_locked_fields_are_left_out_of_the_form(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> None:
    locked = Permissions(locked_fields=("priority", "custom_fields"))
    jira = JIRA.model_copy(update={"form_custom_fields": SHOWN, "permissions": locked})
    async with running(harness_config(sandbox, fake_slack, clean_redis, jira=jira), sandbox, fake_slack) as h:
        view = await open_form(h)
    assert "field_priority" not in field_blocks(view) and "field_status" in field_blocks(view)
    assert custom_blocks(view) == {}
