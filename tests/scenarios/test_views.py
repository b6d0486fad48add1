"""The edit modal over signed HTTP: only changed fields are sent; errors go inline."""

from __future__ import annotations

import copy
from typing import Any

from tests.conftest import JIRA_CHANNEL
from tests.scenarios.conftest import Harness, last
from tests.scenarios.payloads import block_actions, view_submission


def unchanged_state(view: dict[str, Any]) -> dict[str, Any]:
    """The state.values Slack sends when the user touched nothing."""
    values: dict[str, Any] = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        element = block["element"]
        kind = element["type"]
        state: dict[str, Any] = {"type": kind}
        if kind in ("plain_text_input", "number_input"):
            state["value"] = element.get("initial_value")
        elif kind in ("static_select", "external_select"):
            state["selected_option"] = element.get("initial_option")
        elif kind in ("multi_external_select", "multi_static_select"):
            state["selected_options"] = element.get("initial_options", [])
        elif kind == "datepicker":
            state["selected_date"] = element.get("initial_date")
        elif kind == "datetimepicker":
            state["selected_date_time"] = element.get("initial_date_time")
        values[block["block_id"]] = {element["action_id"]: copy.deepcopy(state)}
    return values


async def open_form(harness: Harness, ref: str = "PROJ-42") -> dict[str, Any]:
    await harness.command(f"edit {ref}")
    view = last(harness.calls("views.update"))["view"]
    return {**view, "id": last(harness.calls("views.update"))["view_id"]}


def option(value: str, text: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text, "emoji": True}, "value": value}


async def test_form_is_prefilled_with_current_values(harness: Harness) -> None:
    view = await open_form(harness)
    state = unchanged_state(view)
    assert state["field_name"]["value"]["value"] == "Login fails with SSO"
    assert state["field_status"]["value"]["selected_option"]["value"] == "js1"
    assert state["field_priority"]["value"]["selected_option"]["value"] == "jp3"
    assert [o["value"] for o in state["field_assignees"]["value"]["selected_options"]] == ["ju0003"]
    assert [o["value"] for o in state["field_tags"]["value"]["selected_options"]] == ["jl2"]
    assert view["blocks"][-1]["element"]["multiline"] is True


async def test_only_changed_fields_are_patched_and_the_card_goes_to_the_channel(harness: Harness) -> None:
    view = await open_form(harness)
    values = unchanged_state(view)
    values["field_priority"]["value"]["selected_option"] = option("jp1", "Highest")
    values["field_due_date"]["value"]["selected_date"] = "2026-12-24"
    values["field_tags"]["value"]["selected_options"].append(option("jl1", "backend"))
    harness.reset_counts()
    response = await harness.interact(view_submission(view, values))
    assert response.status_code == 200 and response.content == b""  # the modal closes
    [patch] = harness.sandbox.state.calls("PATCH")
    assert patch.body == {
        "due_date": "2026-12-24",
        "priority": {"id": "jp1", "name": "Highest"},
        "tags": [{"id": "jl2", "name": "frontend"}, {"id": "jl1", "name": "backend"}],
    }
    posted = last(harness.calls("chat.postMessage"))
    assert posted["channel"] == JIRA_CHANNEL
    assert "priority Medium → Highest" in posted["blocks"][3]["elements"][0]["text"]


async def test_parent_completion_and_collections_from_the_form(harness: Harness) -> None:
    view = await open_form(harness)
    values = unchanged_state(view)
    values["field_parent_ticket"]["value"]["value"] = "proj-1"
    values["field_completed_at"]["value"]["selected_date_time"] = 1795168800
    harness.reset_counts()
    await harness.interact(view_submission(view, values))
    [patch] = harness.sandbox.state.calls("PATCH")
    assert patch.body == {"completed_at": "2026-11-20T10:00:00Z", "parent_ticket": {"id": "PROJ-1"}}
    values = unchanged_state(view)
    values["field_collections"]["value"]["selected_options"] = []  # emptied: sent as []
    harness.reset_counts()
    await harness.interact(view_submission({**view, "hash": "2"}, values))
    [patch] = harness.sandbox.state.calls("PATCH")
    assert patch.body == {"collections": []}


async def test_nothing_changed_sends_nothing(harness: Harness) -> None:
    view = await open_form(harness)
    harness.reset_counts()
    await harness.interact(view_submission(view, unchanged_state(view)))
    assert harness.sandbox.state.calls() == []
    note = last(harness.calls("chat.postEphemeral"))
    assert note["text"] == "No changes to PROJ-42; nothing was sent."
    assert note["channel"] == JIRA_CHANNEL and note["user"] == "U0ANA"


async def test_an_empty_title_is_an_inline_error(harness: Harness) -> None:
    view = await open_form(harness)
    values = unchanged_state(view)
    values["field_name"]["value"]["value"] = "   "
    response = await harness.interact(view_submission(view, values))
    assert response.json() == {
        "response_action": "errors",
        "errors": {"field_name": "A ticket needs a title."},
    }
    assert harness.sandbox.state.calls("PATCH") == []


async def test_forged_metadata_changes_nothing(harness: Harness) -> None:
    view = await open_form(harness)
    forged = copy.deepcopy(view)
    forged["private_metadata"] = view["private_metadata"].replace(".", "x.", 1)
    values = unchanged_state(view)
    values["field_priority"]["value"]["selected_option"] = option("jp1", "Highest")
    response = await harness.interact(view_submission(forged, values))
    assert response.json()["response_action"] == "errors"
    assert harness.sandbox.state.calls("PATCH") == []


async def test_api_failure_after_close_offers_retry_that_resends_the_same_update(harness: Harness) -> None:
    view = await open_form(harness)
    values = unchanged_state(view)
    values["field_priority"]["value"]["selected_option"] = option("jp1", "Highest")
    harness.sandbox.state.fail_next(500, times=3, method="PATCH")
    await harness.interact(view_submission(view, values))
    failed = harness.sandbox.state.calls("PATCH")
    assert [c.status for c in failed] == [500, 500, 500]
    notice = last(harness.calls("chat.postEphemeral"))
    assert notice["text"] == (
        "PROJ-42: the update could not be confirmed. Jira is unavailable right now; "
        "try again in a minute. Retry is safe: it cannot apply twice."
    )
    retry = notice["blocks"][1]["elements"][0]
    assert retry["action_id"] == "ticket_retry"
    harness.reset_counts()
    await harness.interact(
        block_actions(
            {"action_id": "ticket_retry", "block_id": "b", "value": retry["value"], "type": "button"},
            channel=JIRA_CHANNEL,
            response_url=harness.slack.response_url(),
            ephemeral=True,
        )
    )
    [patch] = harness.sandbox.state.calls("PATCH")
    assert patch.body == {"priority": {"id": "jp1", "name": "Highest"}}
    assert patch.headers["idempotency-key"] == failed[0].headers["idempotency-key"]
    assert last(harness.calls("chat.postMessage"))["channel"] == JIRA_CHANNEL
    assert last(harness.calls("response"))["delete_original"] is True


async def test_a_double_submit_makes_one_change(harness: Harness) -> None:
    view = await open_form(harness)
    values = unchanged_state(view)
    values["field_priority"]["value"]["selected_option"] = option("jp5", "Lowest")
    submission = view_submission(view, values)
    await harness.interact(submission)
    await harness.interact(submission)
    assert len(harness.sandbox.state.calls("PATCH")) == 1  # the repeat was dropped before the queue
    assert harness.sandbox.state.patches_applied == 1
    assert len(harness.calls("chat.postMessage")) == 1


async def test_a_form_saved_where_the_bot_is_not_a_member_still_shows_the_card(harness: Harness) -> None:
    view = await open_form(harness)
    values = unchanged_state(view)
    values["field_priority"]["value"]["selected_option"] = option("jp1", "Highest")
    harness.reset_counts()
    harness.slack.state.fail_next("chat.postMessage", error="not_in_channel")
    await harness.interact(view_submission(view, values))
    assert len(harness.sandbox.state.calls("PATCH")) == 1
    shown = last(harness.calls("chat.postEphemeral"))
    assert (shown["channel"], shown["user"]) == (JIRA_CHANNEL, "U0ANA")
    assert "invite the bot to this channel" in str(shown["blocks"][-1])
    assert shown["blocks"][0]["type"] == "header"  # the card itself


async def test_an_unknown_or_own_parent_is_an_error_on_the_parent_field(harness: Harness) -> None:
    view = await open_form(harness)
    for typed, error in (
        ("PROJ-9999", "No ticket PROJ-9999 in Jira."),
        ("proj-42", "PROJ-42 can't be its own parent."),
    ):
        values = unchanged_state(view)
        values["field_parent_ticket"]["value"]["value"] = typed
        values["field_priority"]["value"]["selected_option"] = option("jp1", "Highest")  # kept as typed
        harness.reset_counts()
        response = await harness.interact(view_submission(view, values))
        assert response.json() == {"response_action": "errors", "errors": {"field_parent_ticket": error}}
        assert harness.sandbox.state.calls("PATCH") == []
        assert harness.calls("chat.postMessage") == [] and harness.calls("chat.postEphemeral") == []
