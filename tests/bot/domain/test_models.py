"""Models: the PATCH body carries only what was set, refuses unknowns; the ticket is tolerant."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from bot.domain.models import Ref, Ticket, TicketUpdate, UpdateQuery, encode_query


def test_only_set_fields_are_sent_and_clears_are_null() -> None:
    update = TicketUpdate(
        status=Ref(id="js2", name="In Progress"), due_date=None, tags=[Ref(id="jl1")], priority={"id": 7}
    )
    assert update.to_body() == {
        "status": {"id": "js2", "name": "In Progress"},
        "due_date": None,
        "tags": [{"id": "jl1"}],
        "priority": {"id": "7"},
    }
    assert TicketUpdate().to_body() == {}


def test_every_update_field_of_the_api_is_known() -> None:
    assert set(TicketUpdate.field_names()) == set(
        [
            "name",
            "assignees",
            "status",
            "due_date",
            "ticket_type",
            "description",
            "html_description",
            "parent_ticket",
            "workspace",
            "priority",
            "custom_fields",
            "collections",
            "contact",
            "team",
            "account",
            "tags",
            "source",
            "completed_at",
            "created_at",
            "updated_at",
            "number",
            "languages",
            "items",
            "created_by",
            "remote_data",
        ]
    )


def test_unknown_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="colour"):
        TicketUpdate.model_validate({"colour": "red"})


@pytest.mark.parametrize(
    ("field", "value", "sent"),
    [
        ("status", "closed", "closed"),
        ("status", {"id": "s1", "name": "Done"}, {"id": "s1", "name": "Done"}),
        ("ticket_type", "milestone", "milestone"),
        ("due_date", date(2026, 12, 4), "2026-12-04"),
        ("due_date", "2026-12-04T17:00:00Z", "2026-12-04T17:00:00Z"),
        ("custom_fields", {"story_points": 5}, {"story_points": 5}),
        ("number", 42, "42"),
    ],
)
def test_typed_values(field: str, value: object, sent: object) -> None:
    assert TicketUpdate.model_validate({field: value}).to_body() == {field: sent}


@pytest.mark.parametrize(
    ("field", "value"),
    [("due_date", "next week"), ("assignees", "ana"), ("status", {"name": "Done"}), ("tags", [{"id": ""}])],
)
def test_badly_typed_values_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError):
        TicketUpdate.model_validate({field: value})


def test_query_encoding() -> None:
    query = UpdateQuery(
        integrated_account_id="ia-1",
        truto_exclude_fields=["remote_data", "description"],
        remote_query={"expand": "names"},
        truto_ignore_remote_data=True,
        workspace_id="ws-9",
    )
    assert query.to_params() == [
        ("integrated_account_id", "ia-1"),
        ("truto_ignore_remote_data", "true"),
        ("truto_exclude_fields[]", "remote_data"),
        ("truto_exclude_fields[]", "description"),
        ("remote_query[expand]", "names"),
        ("workspace_id", "ws-9"),
    ]
    assert encode_query({"a": None, "b": 3}) == [("b", "3")]


def test_query_needs_the_account() -> None:
    with pytest.raises(ValidationError):
        UpdateQuery.model_validate({})


def test_ticket_is_tolerant_and_has_accessors() -> None:
    ticket = Ticket.model_validate(
        {
            "id": 10042,
            "number": "PROJ-42",
            "status": {"id": "1", "name": "To Do", "color": "blue"},
            "priority": "high",
            "assignees": [{"id": "u1", "first_name": "Ana", "last_name": "Lima"}, {"id": "u2", "name": "Bo"}],
            "tags": [{"id": "t1", "name": "backend"}],
            "ticket_url": "https://acme.atlassian.net/browse/PROJ-42",
            "sprint": {"id": "s-9"},
        }
    )
    assert ticket.id == "10042"
    assert (ticket.status_name, ticket.priority_name, ticket.display_ref) == ("To Do", "high", "PROJ-42")
    assert ticket.assignee_names == ["Ana Lima", "Bo"]
    assert ticket.tag_names == ["backend"]
    assert ticket.web_url == "https://acme.atlassian.net/browse/PROJ-42"
    assert ticket.model_extra == {"sprint": {"id": "s-9"}}
    assert Ticket.model_validate({"id": "x"}).status_name is None
