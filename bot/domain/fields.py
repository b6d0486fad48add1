"""What each update field is, so the grammar and the service treat it alike."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    TEXT = "text"  # free text, sent as typed
    LOOKUP = "lookup"  # one name resolved against a lookup list, sent as {id, name}
    LOOKUP_LIST = "lookup_list"  # several names resolved against a lookup list
    USERS = "users"  # several users (mentions, me, emails, names)
    USER = "user"  # one user
    DATE = "date"  # a date or datetime
    TICKET = "ticket"  # another ticket, by id or URL
    REF_ID = "ref_id"  # a raw id of an object the bot has no list for
    STRING_LIST = "string_list"  # several plain strings
    CUSTOM = "custom"  # a custom field value (cf.<key>)
    STRUCTURED = "structured"  # JSON structures no command can express


@dataclass(frozen=True)
class FieldSpec:
    name: str
    kind: Kind
    resource: str | None = None  # the lookup list that names resolve against
    shown_as: str | None = None  # the name people know it by, where the API's differs

    @property
    def is_list(self) -> bool:
        return self.kind in (Kind.LOOKUP_LIST, Kind.USERS, Kind.STRING_LIST)

    @property
    def label(self) -> str:
        """The field as messages name it mid-sentence: "title", "due date"."""
        return self.shown_as or self.name.replace("_", " ")


_SPECS = [
    FieldSpec("name", Kind.TEXT, shown_as="title"),
    FieldSpec("description", Kind.TEXT),
    FieldSpec("html_description", Kind.TEXT, shown_as="HTML description"),
    FieldSpec("number", Kind.TEXT),
    FieldSpec("source", Kind.REF_ID),  # an object {id, name} in the body
    FieldSpec("status", Kind.LOOKUP, "ticket_status"),
    FieldSpec("priority", Kind.LOOKUP, "ticket_priorities"),
    FieldSpec("ticket_type", Kind.LOOKUP, "ticket_types", shown_as="type"),
    FieldSpec("team", Kind.LOOKUP, "teams"),
    FieldSpec("workspace", Kind.LOOKUP, "workspaces"),
    FieldSpec("assignees", Kind.USERS, "users"),
    FieldSpec("created_by", Kind.USER, "users", shown_as="creator"),
    FieldSpec("tags", Kind.LOOKUP_LIST, "tags"),
    FieldSpec("collections", Kind.LOOKUP_LIST, "collections"),
    FieldSpec("parent_ticket", Kind.TICKET, shown_as="parent"),
    FieldSpec("contact", Kind.REF_ID),
    FieldSpec("account", Kind.REF_ID),
    FieldSpec("due_date", Kind.DATE),
    FieldSpec("completed_at", Kind.DATE),
    FieldSpec("created_at", Kind.DATE),
    FieldSpec("updated_at", Kind.DATE),
    FieldSpec("languages", Kind.STRING_LIST),
    FieldSpec("custom_fields", Kind.CUSTOM),
    FieldSpec("items", Kind.STRUCTURED),
    FieldSpec("remote_data", Kind.STRUCTURED),
]

FIELDS: dict[str, FieldSpec] = {spec.name: spec for spec in _SPECS}

ALIASES: dict[str, str] = {
    "title": "name",
    "assignee": "assignees",
    "due": "due_date",
    "type": "ticket_type",
    "tag": "tags",
    "collection": "collections",
    "project": "collections",  # what most trackers call the collection a ticket is in
    "desc": "description",
    "parent": "parent_ticket",
}

CUSTOM_PREFIXES = ("cf.", "custom.")

# The lookup lists the bot caches per account.
LOOKUP_RESOURCES = (
    "ticket_status",
    "ticket_priorities",
    "ticket_types",
    "users",
    "tags",
    "teams",
    "workspaces",
    "collections",
    "fields",
)


def canonical(name: str) -> str | None:
    """The body field a typed name means, or None when it is not a field."""
    lowered = name.lower()
    if lowered in FIELDS:
        return lowered
    return ALIASES.get(lowered)


def field_list(names: Sequence[str]) -> str:
    """Body fields as people name them, the first capitalised: "Due date and type"."""
    labels = [FIELDS[n].label if n in FIELDS else n for n in dict.fromkeys(names)]
    text = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
    return text[:1].upper() + text[1:]
