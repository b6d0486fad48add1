"""A Workflow Builder step's inputs as the update grammar.

The "Update a ticket" step takes the ticket, `changes` as typed after `/ticket update PROJ-42`
(field=value …), and typed inputs for the everyday fields (status, priority, the assignee as a
Slack user, the due date as a date, a comment). They become the one `/ticket update` text every
other surface runs, so a step is checked, resolved and answered exactly as a command is.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.domain.errors import UserInputError
from bot.domain.refs import unwrap_slack_link

UPDATE_STEP = "update_ticket"
GET_STEP = "get_ticket"
CREATE_STEP = "create_ticket"
STEPS = (UPDATE_STEP, GET_STEP, CREATE_STEP)

# The person the workflow's author says the step is for: a claim (an author may name anyone).
ACTOR_INPUT = "updated_by"
# Slack's `slack#/types/interactivity`: set by Slack alone (only Slack's own functions output it)
# when a person started the workflow (a link trigger, a shortcut, a button): its interactor is
# the one identity a step can prove.
INTERACTIVITY_INPUT = "interactivity"
# As declared in manifest.yml (tests/test_manifest.py holds the two to each other).
UPDATE_INPUTS = (
    "ticket",
    "changes",
    "status",
    "priority",
    "assignee",
    "due_date",
    "comment",
    ACTOR_INPUT,
    "channel",
    INTERACTIVITY_INPUT,
)
GET_INPUTS = ("ticket", "channel", INTERACTIVITY_INPUT)
CREATOR_INPUT = "created_by"  # as ACTOR_INPUT: the person the author names, a claim
CREATE_INPUTS = ("title", "description", "fields", CREATOR_INPUT, "channel", INTERACTIVITY_INPUT)
OUTPUTS = ("ticket_id", "ticket_url", "title", "status", "priority", "assignee", "summary")
CREATE_OUTPUTS = ("ticket_id", "ticket_url", "title")
DESCRIPTION_LIMIT = 30_000  # a description longer than this is refused, not cut
_SLACK_USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
_SLACK_CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class StepRequest:
    """What a step was asked: the ticket, the update as grammar text (None: nothing to set), the
    comment to add, who Slack says started the workflow (`interactor`), who its author says it
    is for (`claimed_for`) and which channel's tool."""

    ticket: str
    text: str | None = None
    comment: str | None = None
    description: str | None = None  # "Create a ticket": the new ticket's description
    interactor: str | None = None
    claimed_for: str | None = None
    channel: str | None = None


def quoted(value: str) -> str:
    """A value in double quotes, as the grammar reads it back (backslash escapes)."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(inputs: Mapping[str, Any], name: str) -> str:
    value = inputs.get(name)
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise UserInputError(f"the step's {name} is not text (got {type(value).__name__})")
    return str(value).strip()


def _user(inputs: Mapping[str, Any], name: str, title: str) -> str | None:
    value = _text(inputs, name)
    if not value:
        return None
    if not _SLACK_USER.match(value):
        raise UserInputError(f"the step's {title} is {value!r}, not a Slack user: choose a person")
    return value


def _due(inputs: Mapping[str, Any]) -> str | None:
    """Workflow Builder's date as YYYY-MM-DD. Slack documents the date type as that text; an epoch
    in seconds is taken too (how a date from an earlier step arrives is not documented)."""
    value = _text(inputs, "due_date")
    if not value:
        return None
    if _ISO_DATE.match(value):
        return value
    if value.isdigit():
        return datetime.fromtimestamp(int(value), UTC).date().isoformat()
    raise UserInputError(f"the step's Due date is {value!r}: give a date (YYYY-MM-DD)")


def _ticket(inputs: Mapping[str, Any]) -> str:
    ticket = unwrap_slack_link(_text(inputs, "ticket"))  # a link from an earlier step's message
    if not ticket:
        raise UserInputError("the step has no Ticket: give a ticket key such as PROJ-42, or its URL")
    if any(c.isspace() for c in ticket):
        raise UserInputError(
            f"the step's Ticket is {ticket[:60]!r}: give one ticket key such as PROJ-42, or its URL"
        )
    return ticket


def _channel(inputs: Mapping[str, Any]) -> str | None:
    value = _text(inputs, "channel")
    if value and not _SLACK_CHANNEL.match(value):
        raise UserInputError(f"the step's Channel is {value!r}, not a Slack channel: choose a channel")
    return value or None


def interactor_of(inputs: Mapping[str, Any]) -> str | None:
    """The person Slack's interactivity input names (`{"interactor": {"id": …}, …}`), or None."""
    value = inputs.get(INTERACTIVITY_INPUT)
    interactor = value.get("interactor") if isinstance(value, Mapping) else None
    user = interactor.get("id") if isinstance(interactor, Mapping) else None
    return user if isinstance(user, str) and _SLACK_USER.match(user) else None


def get_request(inputs: Mapping[str, Any]) -> StepRequest:
    """ "Get a ticket": which ticket, and (optionally) which channel's tool it is in."""
    return StepRequest(ticket=_ticket(inputs), channel=_channel(inputs), interactor=interactor_of(inputs))


def update_request(inputs: Mapping[str, Any]) -> StepRequest:
    """ "Update a ticket": the grammar text of its changes and typed fields (a typed field that
    `changes` sets too is answered as the grammar answers a field given twice)."""
    ticket = _ticket(inputs)
    parts = [_text(inputs, "changes")] if _text(inputs, "changes") else []
    for name in ("status", "priority"):
        value = _text(inputs, name)
        if value:
            parts.append(f"{name}={quoted(value)}")
    assignee = _user(inputs, "assignee", "Assignee")
    if assignee:
        parts.append(f"assignee=<@{assignee}>")
    due = _due(inputs)
    if due:
        parts.append(f"due={due}")
    comment = _text(inputs, "comment") or None
    if not parts and comment is None:
        raise UserInputError(
            "the step changes nothing: fill in Changes (field=value …, as after /ticket update PROJ-42), "
            "Status, Priority, Assignee, Due date or Comment"
        )
    return StepRequest(
        ticket=ticket,
        text=f"update {ticket} {' '.join(parts)}" if parts else None,
        comment=comment,
        interactor=interactor_of(inputs),
        claimed_for=_user(inputs, ACTOR_INPUT, "Updated by"),
        channel=_channel(inputs),
    )


def create_request(inputs: Mapping[str, Any]) -> StepRequest:
    """ "Create a ticket": a `/ticket create` line of its title and fields (checked as the
    command is), and its description as given (no grammar: any text)."""
    title = _text(inputs, "title")
    if not title:
        raise UserInputError("the step has no Title: give the new ticket's title")
    fields = _text(inputs, "fields")
    description = _text(inputs, "description") or None
    if description is not None and len(description) > DESCRIPTION_LIMIT:
        raise UserInputError(
            f"the step's Description is {len(description)} characters long; at most {DESCRIPTION_LIMIT}"
        )
    return StepRequest(
        ticket="",
        text=f"create {quoted(title)} {fields}".strip(),
        description=description,
        interactor=interactor_of(inputs),
        claimed_for=_user(inputs, CREATOR_INPUT, "Created by"),
        channel=_channel(inputs),
    )


def request_of(step: str, inputs: Mapping[str, Any]) -> StepRequest:
    if step == CREATE_STEP:
        return create_request(inputs)
    return update_request(inputs) if step == UPDATE_STEP else get_request(inputs)
