"""Modals: loading, the edit form, the create form, ticket pickers, and short notes."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from blocks import ids
from blocks.card import description_excerpt
from blocks.text import escape, truncate
from bot.domain.models import Ticket, TicketRefObject
from bot.domain.sanitize import clean_text

View = dict[str, Any]
Item = Mapping[str, Any]
STATIC_LIMIT = 100


def plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(clean_text(text), limit) or " ", "emoji": True}


def _view(
    callback_id: str, title: str, blocks: list[dict[str, Any]], metadata: str, submit: str | None
) -> View:
    view: View = {
        "type": "modal",
        "callback_id": callback_id,
        "title": plain(title, 24),
        "close": plain("Cancel" if submit else "Close", 24),
        "blocks": blocks,
        "private_metadata": metadata,
    }
    if submit:
        view["submit"] = plain(submit, 24)
    return view


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}}


def loading_view(ref: str, metadata: str = "", *, title: str = "Edit ticket") -> View:
    return _view(
        ids.EDIT_VIEW,
        title,
        [_section(f":hourglass_flowing_sand: Loading {escape(ref)}…")],
        metadata,
        None,
    )


def note_view(title: str, text: str) -> View:
    """A closing note (errors, nothing to do); `text` is mrkdwn the caller escaped."""
    return _view(ids.EDIT_VIEW, title, [_section(text)], "", None)


def option(item: Item) -> dict[str, Any] | None:
    """A select option for a lookup item, or None when its id cannot fit."""
    value = str(item.get("id") or "")
    if not value or len(value) > 150:
        return None
    name = str(item.get("name") or item.get("label") or value)
    return {"text": plain(name, 75), "value": value}


def ref_option(ref: TicketRefObject) -> dict[str, Any] | None:
    return option({"id": ref.id, "name": ref.label}) if ref.id else None


@dataclass(frozen=True)
class EditChoices:
    """What the account offers per field: a list (select), None (no list: text or left out)."""

    statuses: Sequence[Item] | None
    priorities: Sequence[Item] | None
    teams: Sequence[Item] | None
    types: Sequence[Item] | None
    users: bool
    tags: bool
    workspaces: Sequence[Item] | None = None
    collections: bool = False


def _input_block(
    block_id: str, label: str, element: dict[str, Any], *, optional: bool = False, hint: str | None = None
) -> dict[str, Any]:
    block: dict[str, Any] = {
        "type": "input",
        "block_id": block_id,
        "label": plain(label, 2000),
        "element": element,
    }
    if optional:
        block["optional"] = True
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def _input(field: str, label: str, element: dict[str, Any], hint: str | None = None) -> dict[str, Any]:
    """A form field: optional (only what is changed is sent)."""
    element = {**element, "action_id": ids.FIELD_ACTION}
    return _input_block(ids.field_block(field), label, element, optional=True, hint=hint)


def _current(value: Any, items: Sequence[Item]) -> dict[str, Any] | None:
    if isinstance(value, TicketRefObject):
        for item in items:
            if (value.id and str(item.get("id")) == value.id) or (
                value.name and str(item.get("name", "")).lower() == value.name.lower()
            ):
                return option(item)
    if isinstance(value, str):
        for item in items:
            if str(item.get("name", "")).lower() == value.lower():
                return option(item)
    return None


def _select(field: str, label: str, items: Sequence[Item], current: Any) -> dict[str, Any]:
    """A static select for short lists, an external one (typed search) for long ones."""
    initial = _current(current, items)
    if len(items) <= STATIC_LIMIT:
        options = [o for o in (option(i) for i in items) if o]
        element: dict[str, Any] = {"type": "static_select", "options": options}
    else:
        element = {"type": "external_select", "min_query_length": 0}
    element["placeholder"] = plain(f"Choose {label.lower()}", 150)
    if initial is not None:
        element["initial_option"] = initial
    return _input(field, label, element)


def _multi(field: str, label: str, refs: Sequence[TicketRefObject] | None) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "multi_external_select",
        "min_query_length": 1,
        "placeholder": plain(f"Search {label.lower()}", 150),
    }
    initial = [o for o in (ref_option(r) for r in refs or []) if o][:100]
    if initial:
        element["initial_options"] = initial
    return _input(field, label, element)


def _text(
    field: str, label: str, value: str | None, *, multiline: bool = False, hint: str | None = None
) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "multiline": multiline, "max_length": 3000}
    if value:
        element["initial_value"] = truncate(value, 3000)
    return _input(field, label, element, hint)


def iso_day(value: Any) -> str | None:
    """YYYY-MM-DD of an ISO date or datetime, or None (a datepicker takes nothing else)."""
    if not isinstance(value, str) or not re.match(r"^\d{4}-\d{2}-\d{2}", value):
        return None
    try:
        return date.fromisoformat(value[:10]).isoformat()
    except ValueError:
        return None


def epoch_seconds(value: Any) -> int | None:
    """Seconds since the epoch of an ISO datetime (a datetimepicker's initial value), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp())


def edit_view(
    ticket: Ticket,
    choices: EditChoices,
    metadata: str,
    custom: Sequence[dict[str, Any]] = (),
    hidden: Collection[str] = (),
) -> View:
    """The form, prefilled with the ticket's current values; a field without a list is left out
    or offered as text where the API takes text (status, ticket type). `custom` holds the
    custom fields' inputs (blocks.custom_inputs), shown before the description; `hidden` names
    fields left out (locked, or not updatable on this tool)."""
    blocks: list[dict[str, Any]] = [
        _section(f"*{escape(ticket.display_ref)}*"),
        _text("name", "Title", ticket.name),
    ]
    if choices.statuses is not None:
        blocks.append(_select("status", "Status", choices.statuses, ticket.status))
    else:
        blocks.append(
            _text("status", "Status", ticket.status_name, hint="The tool's own status word, e.g. open")
        )
    if choices.priorities is not None:
        blocks.append(_select("priority", "Priority", choices.priorities, ticket.priority))
    if choices.users:
        blocks.append(_multi("assignees", "Assignees", ticket.assignees))
    if choices.tags:
        blocks.append(_multi("tags", "Tags", ticket.tags))
    due: dict[str, Any] = {"type": "datepicker", "placeholder": plain("No due date", 150)}
    day = iso_day(ticket.due_date)
    if day:
        due["initial_date"] = day
    blocks.append(_input("due_date", "Due date", due))
    if choices.teams is not None:
        blocks.append(_select("team", "Team", choices.teams, ticket.team))
    if choices.types is not None:
        blocks.append(_select("ticket_type", "Type", choices.types, ticket.ticket_type))
    else:
        blocks.append(_text("ticket_type", "Type", ticket.type_name))
    if choices.workspaces:
        blocks.append(_select("workspace", "Workspace", choices.workspaces, ticket.workspace))
    if choices.collections:
        blocks.append(_multi("collections", "Projects and collections", ticket.collections))
    parent = ticket.parent_ticket
    blocks.append(
        _text(
            "parent_ticket",
            "Parent ticket",
            (parent.label if parent is not None and parent.id else None),
            hint="A key such as PROJ-7 or a ticket URL; set either a parent or collections",
        )
    )
    completed: dict[str, Any] = {"type": "datetimepicker"}
    moment = epoch_seconds(ticket.completed_at)
    if moment is not None:
        completed["initial_date_time"] = moment
    blocks.append(_input("completed_at", "Completed at", completed))
    blocks.extend(custom)
    blocks.append(_text("description", "Description", description_excerpt(ticket, 3000), multiline=True))
    shown = [b for b in blocks if ids.field_of_block(b.get("block_id", "")) not in hidden]
    return _view(ids.EDIT_VIEW, "Edit ticket", shown, metadata, "Save")


@dataclass(frozen=True)
class CreateLayout:
    """What the create form shows beyond the account's choices: the projects to pick one from
    (None: no list), the fields the tool requires (their inputs must be filled), fields left
    out, and a note on top (mrkdwn the caller escaped)."""

    projects: Sequence[Item] | None = None
    required: Collection[str] = ()
    hidden: Collection[str] = ()
    note: str = ""


def create_view(
    prefill: Ticket,
    choices: EditChoices,
    metadata: str,
    layout: CreateLayout,
    custom: Sequence[dict[str, Any]] = (),
) -> View:
    """The create form: the project and type first (where the tool takes them), then the title,
    the description and the everyday fields, prefilled from what was typed or the message; the
    inputs of required fields must be filled (Slack says so on the form)."""
    blocks: list[dict[str, Any]] = [_section(layout.note)] if layout.note else []
    if layout.projects:
        current = prefill.collections[0] if prefill.collections else None
        blocks.append(_select("collections", "Project", layout.projects, current))
    if choices.types is not None:
        blocks.append(_select("ticket_type", "Type", choices.types, prefill.ticket_type))
    elif "ticket_type" in layout.required:
        blocks.append(_text("ticket_type", "Type", prefill.type_name))
    blocks.append(_text("name", "Title", prefill.name))
    blocks.append(_text("description", "Description", prefill.description, multiline=True))
    if choices.priorities is not None:
        blocks.append(_select("priority", "Priority", choices.priorities, prefill.priority))
    if choices.users:
        blocks.append(_multi("assignees", "Assignees", prefill.assignees))
    if choices.tags:
        blocks.append(_multi("tags", "Tags", prefill.tags))
    due: dict[str, Any] = {"type": "datepicker", "placeholder": plain("No due date", 150)}
    day = iso_day(prefill.due_date)
    if day:
        due["initial_date"] = day
    blocks.append(_input("due_date", "Due date", due))
    if choices.teams is not None:
        blocks.append(_select("team", "Team", choices.teams, prefill.team))
    if choices.workspaces:
        blocks.append(_select("workspace", "Workspace", choices.workspaces, prefill.workspace))
    blocks.extend(custom)
    shown = [b for b in blocks if ids.field_of_block(b.get("block_id", "")) not in layout.hidden]
    for block in shown:
        if ids.field_of_block(block.get("block_id", "")) in {"name", *layout.required}:
            block.pop("optional", None)
    return _view(ids.CREATE_VIEW, "Create ticket", shown, metadata, "Create")


def pick_ticket_view(choices: Sequence[tuple[str, str]], metadata: str) -> View:
    """Which of the message's tickets: each as (value, label), the value a key or the URL."""
    refs = [value for value, _ in choices]
    options = [
        {"text": plain(label, 75), "value": value} for value, label in choices[:100] if len(value) <= 150
    ]
    element = {
        "type": "static_select",
        "action_id": ids.PICK_ACTION,
        "options": options,
        "initial_option": options[0],
    }
    block = _input_block(ids.PICK_BLOCK, "Which ticket?", element)
    intro = _section(f"This message mentions {len(refs)} tickets.")
    changes = {
        "type": "plain_text_input",
        "action_id": ids.ALL_ACTION,
        "placeholder": plain("status=done assignee=@bo", 150),
    }
    every = _input_block(
        ids.ALL_BLOCK,
        f"Or update all {len(refs)}",
        changes,
        optional=True,
        hint="The same changes on every ticket, as after /ticket update; leave empty to edit the ticket "
        "chosen above.",
    )
    return _view(ids.PICK_VIEW, "Update ticket", [intro, block, every], metadata, "Next")


def enter_ticket_view(looked_for: str, metadata: str) -> View:
    element = {
        "type": "plain_text_input",
        "action_id": ids.PICK_ACTION,
        "placeholder": plain("PROJ-42 or a ticket URL", 150),
    }
    block = _input_block(ids.ENTER_BLOCK, "Ticket", element)
    intro = _section(f"No ticket reference found in this message. Looked for {escape(looked_for)}.")
    return _view(ids.ENTER_VIEW, "Update ticket", [intro, block], metadata, "Next")
