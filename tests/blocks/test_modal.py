"""Modals: the edit form's inputs follow the account's lists, and stay within limits."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blocks.messages import error_blocks, help_blocks, options_payload
from blocks.modal import EditChoices, edit_view, enter_ticket_view, loading_view, note_view, pick_ticket_view
from bot.domain.models import Ticket
from tests.blocks.limits import check_blocks, check_view

JIRA_CHOICES = EditChoices(
    statuses=[{"id": "js1", "name": "To Do"}, {"id": "js4", "name": "Done"}],
    priorities=[{"id": "jp3", "name": "Medium"}],
    teams=[{"id": "t1", "name": "Platform"}],
    types=[{"id": "jt1", "name": "Bug"}],
    users=True,
    tags=True,
)


def elements(view: dict[str, Any]) -> dict[str, str]:
    return {b["block_id"]: b["element"]["type"] for b in view["blocks"] if b["type"] == "input"}


def test_jira_form_inputs() -> None:
    ticket = Ticket.model_validate(
        {
            "id": "PROJ-42",
            "name": "Login",
            "status": {"id": "js1", "name": "To Do"},
            "due_date": "2026-12-04T00:00:00Z",
        }
    )
    view = edit_view(ticket, JIRA_CHOICES, "meta")
    check_view(view)
    assert elements(view) == {
        "field_name": "plain_text_input",
        "field_status": "static_select",
        "field_priority": "static_select",
        "field_assignees": "multi_external_select",
        "field_tags": "multi_external_select",
        "field_due_date": "datepicker",
        "field_team": "static_select",
        "field_ticket_type": "static_select",
        "field_parent_ticket": "plain_text_input",
        "field_completed_at": "datetimepicker",
        "field_description": "plain_text_input",
    }
    due = next(b for b in view["blocks"] if b.get("block_id") == "field_due_date")
    assert due["element"]["initial_date"] == "2026-12-04"


def test_missing_lists_leave_fields_out_or_as_text() -> None:
    choices = EditChoices(statuses=None, priorities=None, teams=None, types=None, users=False, tags=False)
    view = edit_view(Ticket.model_validate({"id": "1", "status": "open"}), choices, "meta")
    assert elements(view) == {
        "field_name": "plain_text_input",
        "field_status": "plain_text_input",
        "field_due_date": "datepicker",
        "field_ticket_type": "plain_text_input",
        "field_parent_ticket": "plain_text_input",
        "field_completed_at": "datetimepicker",
        "field_description": "plain_text_input",
    }


def test_workspaces_collections_parent_and_completion_are_offered() -> None:
    choices = EditChoices(
        statuses=None,
        priorities=None,
        teams=None,
        types=None,
        users=False,
        tags=False,
        workspaces=[{"id": "w1", "name": "Acme"}, {"id": "w2", "name": "Labs"}],
        collections=True,
    )
    ticket = Ticket.model_validate(
        {
            "id": "1",
            "workspace": {"id": "w2", "name": "Labs"},
            "collections": [{"id": "c1", "name": "Payments", "type": "product"}],
            "parent_ticket": {"id": "AZ-2", "name": "AZ-2"},
            "completed_at": "2026-11-20T10:00:00Z",
        }
    )
    view = edit_view(ticket, choices, "meta")
    check_view(view)
    blocks = {b.get("block_id"): b["element"] for b in view["blocks"] if b["type"] == "input"}
    assert blocks["field_workspace"]["initial_option"]["value"] == "w2"
    assert blocks["field_collections"]["initial_options"][0]["value"] == "c1"
    assert blocks["field_parent_ticket"]["initial_value"] == "AZ-2"
    assert blocks["field_completed_at"]["initial_date_time"] == 1795168800


def test_long_lists_use_an_external_select() -> None:
    many = [{"id": f"s{i}", "name": f"Status {i}"} for i in range(150)]
    choices = EditChoices(statuses=many, priorities=None, teams=None, types=None, users=False, tags=False)
    view = edit_view(
        Ticket.model_validate({"id": "1", "status": {"id": "s120", "name": "Status 120"}}), choices, "m"
    )
    status = next(b for b in view["blocks"] if b.get("block_id") == "field_status")["element"]
    assert status["type"] == "external_select"
    assert status["initial_option"]["value"] == "s120"
    check_view(view)


def test_other_views_are_valid() -> None:
    for view in (
        loading_view("PROJ-42", "m"),
        note_view("Edit ticket", "done"),
        pick_ticket_view([(f"PROJ-{i}", f"PROJ-{i} (Jira)") for i in range(150)], "m"),
        enter_ticket_view("Jira links", "m"),
    ):
        check_view(view)
    check_blocks(error_blocks("x" * 5000, retry_value="v", error_id="abc"))
    check_blocks(help_blocks("Jira", [f"S{i}" for i in range(400)], ["High"]))
    assert len(options_payload([{"id": str(i), "name": "n" * 100} for i in range(300)])["options"]) == 100


refs = st.fixed_dictionaries({"id": st.text(min_size=1, max_size=200), "name": st.text(max_size=200)})


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.builds(
        lambda **kw: Ticket.model_validate({k: v for k, v in kw.items() if v is not None}),
        id=st.text(min_size=1, max_size=100),
        name=st.none() | st.text(max_size=5000),
        description=st.none() | st.text(max_size=6000),
        status=st.none() | refs,
        assignees=st.none() | st.lists(refs, max_size=150),
        tags=st.none() | st.lists(refs, max_size=150),
        due_date=st.none() | st.text(max_size=30),
    ),
    st.none() | st.lists(refs, max_size=130),
)
def test_any_ticket_gives_a_valid_form(ticket: Ticket, statuses: list[dict[str, str]] | None) -> None:
    choices = EditChoices(
        statuses=statuses, priorities=statuses, teams=None, types=statuses, users=True, tags=True
    )
    check_view(edit_view(ticket, choices, "m" * 300))
