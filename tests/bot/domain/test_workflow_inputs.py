"""A Workflow Builder step's inputs become the grammar's text, and read back as typed."""

from __future__ import annotations

import re
from datetime import date

import pytest

from bot.domain.commands import UpdateCommand
from bot.domain.errors import ParseError, UserInputError
from bot.domain.grammar import parse
from bot.domain.workflow_inputs import get_request, request_of, update_request


def parsed(inputs: dict[str, object]) -> UpdateCommand:
    request = update_request(inputs)
    assert request.text is not None
    command = parse(request.text)
    assert isinstance(command, UpdateCommand)
    return command


def test_typed_values_read_back_exactly_whatever_they_contain() -> None:
    command = parsed({"ticket": "PROJ-42", "status": 'Won"t \\ fix', "priority": "P0, urgent"})
    assert [(a.field, a.values) for a in command.assignments] == [
        ("status", ('Won"t \\ fix',)),
        ("priority", ("P0, urgent",)),
    ]


def test_changes_and_typed_fields_together() -> None:
    command = parsed(
        {"ticket": "PROJ-42", "changes": "tags+=backend", "assignee": "U0ANA", "due_date": "1765411200"}
    )
    assert [(a.field, a.op) for a in command.assignments] == [
        ("tags", "add"),
        ("assignees", "set"),
        ("due_date", "set"),
    ]
    assert command.assignments[2].values == (date(2025, 12, 11),)  # an epoch in seconds, as a date


def test_a_field_given_twice_is_answered_as_the_grammar_answers_it() -> None:
    with pytest.raises(ParseError, match="status"):
        parsed({"ticket": "PROJ-42", "changes": "status=done", "status": "To Do"})


def test_a_slack_link_to_the_ticket_is_its_url() -> None:
    request = update_request(
        {"ticket": "<https://acme.atlassian.net/browse/PROJ-42|PROJ-42>", "status": "Done"}
    )
    assert request.text == 'update https://acme.atlassian.net/browse/PROJ-42 status="Done"'
    assert get_request({"ticket": "PROJ-7", "channel": "C0OPS"}).channel == "C0OPS"


@pytest.mark.parametrize(
    ("inputs", "said"),
    [
        (
            {"ticket": "PROJ-42", "comment": {"type": "rich_text"}},
            "the step's comment is not text (got dict)",
        ),
        ({"ticket": "PROJ-42", "status": "Done", "channel": "general"}, "not a Slack channel"),
        ({"ticket": "PROJ-42", "status": "Done", "updated_by": "ana"}, "the step's Updated by is 'ana'"),
    ],
)
def test_inputs_of_the_wrong_kind_are_named(inputs: dict[str, object], said: str) -> None:
    with pytest.raises(UserInputError, match=re.escape(said)):
        update_request(inputs)


def test_create_step_inputs_become_a_create_line_and_a_description() -> None:
    from bot.domain.workflow_inputs import CREATE_STEP

    request = request_of(
        CREATE_STEP,
        {
            "title": 'Login "fails"',
            "fields": "type=Bug",
            "description": "Seen by 3 customers",
            "created_by": "U0ANA",
            "interactivity": {"interactor": {"id": "U0BRUNO"}},
        },
    )
    assert request.text == 'create "Login \\"fails\\"" type=Bug'
    assert request.description == "Seen by 3 customers"
    assert (request.interactor, request.claimed_for) == ("U0BRUNO", "U0ANA")
    with pytest.raises(UserInputError, match="the step has no Title"):
        request_of(CREATE_STEP, {"fields": "type=Bug"})
