"""Pydantic models of the unified ticketing API: the update body, its query, the ticket."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.domain.sanitize import clean_json

JsonDict = dict[str, Any]
EMPTY = "—"
_DATE_FIELDS = frozenset({"due_date", "completed_at", "created_at", "updated_at"})


def _id_as_text(value: Any) -> Any:
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else value


class Ref(BaseModel):
    """A reference to another object in a request body: `{id, name?}`."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(min_length=1)
    name: str | None = None
    type: str | None = None  # collections (component, product, …) and created_by (user, contact)

    _coerce_id = field_validator("id", mode="before")(_id_as_text)


DateOrDateTime = date | datetime
_MULTILINE_FIELDS = frozenset({"description", "html_description", "custom_fields", "items", "remote_data"})


class TicketUpdate(BaseModel):
    """The body of `PATCH /unified/ticketing/tickets/{id}`.

    Only fields that were set are sent; setting a field to None sends an explicit `null`
    (a clear). Unknown fields are refused.
    """

    model_config = ConfigDict(extra="forbid")

    name: str | None = None
    assignees: list[Ref] | None = None
    status: str | Ref | None = None
    due_date: DateOrDateTime | None = None
    ticket_type: str | Ref | None = None
    description: str | None = None
    html_description: str | None = None
    parent_ticket: Ref | None = None
    workspace: str | Ref | None = None  # the seed's example sends the id as a string
    priority: Ref | None = None
    custom_fields: dict[str, Any] | None = None
    collections: list[Ref] | None = None
    contact: Ref | None = None
    team: Ref | None = None
    account: Ref | None = None
    tags: list[Ref] | None = None
    source: Ref | None = None
    completed_at: DateOrDateTime | None = None
    created_at: DateOrDateTime | None = None
    updated_at: DateOrDateTime | None = None
    number: str | None = None
    languages: list[str] | None = None
    items: JsonDict | list[JsonDict] | None = None  # an object in the seed's example
    created_by: Ref | None = None
    remote_data: JsonDict | None = None

    _coerce_number = field_validator("number", mode="before")(_id_as_text)

    @model_validator(mode="before")
    @classmethod
    def _clean_text(cls, data: Any) -> Any:
        """Every path to a PATCH (command, form, card, custom fields) passes here: no control,
        bidi or invisible characters reach the tool."""
        if not isinstance(data, dict):
            return data
        return {k: clean_json(v, multiline=k in _MULTILINE_FIELDS) for k, v in data.items()}

    def to_body(self) -> JsonDict:
        """The JSON body: set fields only, explicit clears as null."""
        return self.model_dump(mode="json", exclude_unset=True)

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(cls.model_fields)


def encode_query(params: JsonDict) -> list[tuple[str, str]]:
    """Encode query parameters the way the unified API reads them.

    Lists become `key[]=a&key[]=b`, mappings `key[sub]=v`, booleans `true`/`false`.
    """
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            pairs.extend((f"{key}[]", _scalar(item)) for item in value)
        elif isinstance(value, dict):
            pairs.extend((f"{key}[{sub}]", _scalar(item)) for sub, item in value.items())
        else:
            pairs.append((key, _scalar(value)))
    return pairs


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class UpdateQuery(BaseModel):
    """Query parameters of the update call; the integration's own ones pass through."""

    model_config = ConfigDict(extra="allow")

    integrated_account_id: str = Field(min_length=1)
    truto_response_format: Literal["unified", "raw", "normalized", "stream"] | None = None
    truto_ignore_remote_data: bool | None = None
    truto_exclude_fields: list[str] | None = None
    remote_query: dict[str, str] | None = None

    def to_params(self) -> list[tuple[str, str]]:
        return encode_query(self.model_dump(exclude_none=True))


class TicketRefObject(BaseModel):
    """A reference inside a ticket (status, priority, assignee, tag, …); tolerant."""

    model_config = ConfigDict(extra="allow")

    id: str | None = None
    name: str | None = None

    _coerce_id = field_validator("id", mode="before")(_id_as_text)

    @property
    def label(self) -> str:
        extra = self.model_extra or {}
        if self.name:
            return self.name
        full = " ".join(str(extra[k]) for k in ("first_name", "last_name") if extra.get(k))
        return full or self.id or "?"

    def as_ref(self) -> Ref | None:
        if not self.id:
            return None
        kind = (self.model_extra or {}).get("type")
        typed = {"type": kind} if isinstance(kind, str) and kind else {}
        return Ref(id=self.id, name=self.name, **typed)


def display_value(value: Any, limit: int = 80) -> str:
    """A field value as one short line of text."""
    if value is None or value == [] or value == "":
        return EMPTY
    if isinstance(value, bool):  # a yes/no custom field
        return "Yes" if value else "No"
    if isinstance(value, TicketRefObject):
        return value.label
    if isinstance(value, list):
        return ", ".join(display_value(v, limit) for v in value) or EMPTY
    if isinstance(value, dict):
        return str(value.get("name") or value.get("label") or value.get("id") or value)
    text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class Change:
    """One field an update changed: `key` says which (`due_date`, `cf.story_points`),
    `label` is how people read it ("due date", "Story points"), before and after as shown."""

    key: str
    label: str
    before: str
    after: str
    # A list that had items and still has some: what came and went, so that the line reads
    # "tags +backend" and a list's commas never look like separators between changes.
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def heading(self) -> str:
        """The label at the start of a line: "Due date", "Title"."""
        return self.label[:1].upper() + self.label[1:]

    def __str__(self) -> str:
        if self.added or self.removed:
            moves = [f"+{a}" for a in self.added] + [f"−{r}" for r in self.removed]
            return f"{self.label} {' '.join(moves)}"
        return f"{self.label} {self.before} → {self.after}"


def _ref_label(value: TicketRefObject | str | None) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else value.label


class Ticket(BaseModel):
    """A ticket as the API returns it: everything but `id` optional, unknown fields kept."""

    model_config = ConfigDict(extra="allow")

    id: str
    name: str | None = None
    number: str | None = None
    description: str | None = None
    html_description: str | None = None
    status: TicketRefObject | str | None = None
    priority: TicketRefObject | str | None = None
    ticket_type: TicketRefObject | str | None = None
    assignees: list[TicketRefObject] | None = None
    tags: list[TicketRefObject] | None = None
    collections: list[TicketRefObject] | None = None
    team: TicketRefObject | None = None
    workspace: TicketRefObject | str | None = None
    parent_ticket: TicketRefObject | None = None
    contact: TicketRefObject | None = None
    account: TicketRefObject | None = None
    created_by: TicketRefObject | None = None
    due_date: str | None = None
    completed_at: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    custom_fields: dict[str, Any] | None = None
    ticket_url: str | None = None
    url: str | None = None

    _coerce_ids = field_validator("id", "number", mode="before")(_id_as_text)

    @property
    def status_name(self) -> str | None:
        return _ref_label(self.status)

    @property
    def priority_name(self) -> str | None:
        return _ref_label(self.priority)

    @property
    def type_name(self) -> str | None:
        return _ref_label(self.ticket_type)

    @property
    def assignee_names(self) -> list[str]:
        return [a.label for a in self.assignees or []]

    @property
    def tag_names(self) -> list[str]:
        return [t.label for t in self.tags or []]

    @property
    def display_ref(self) -> str:
        return self.number or self.id

    @property
    def web_url(self) -> str | None:
        return self.ticket_url or self.url

    def to_json(self) -> JsonDict:
        return self.model_dump(mode="json", exclude_none=True)

    def value(self, field: str) -> Any:
        if field in type(self).model_fields:
            return getattr(self, field)
        return (self.model_extra or {}).get(field)

    def display(self, field: str, custom_key: str | None = None) -> str:
        """A field (or custom field) as short text; dates without a midnight time."""
        if custom_key is not None:
            return display_value((self.custom_fields or {}).get(custom_key))
        value = self.value(field)
        if field in _DATE_FIELDS and isinstance(value, str) and value.endswith("T00:00:00"):
            value = value[:10]
        return display_value(value)
