"""Custom fields (`cf.<name>=value`): found by name or label in the account's `fields` list,
and typed by the field's type: number, boolean, date, datetime, enum (by option label), user,
multi-select (array; `+=`/`-=` work). Pure: the service supplies the list and the users."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from bot.domain.dates import DATE_FORMS, parse_date
from bot.domain.errors import DateError, ResolveError
from bot.domain.matching import Item, NameIndex, item_name

_TRUE = {"yes", "true", "on", "1", "y"}
_FALSE = {"no", "false", "off", "0", "n"}


def ticket_fields(items: Sequence[Item]) -> list[Item]:
    return [f for f in items if f.get("entity_type") in (None, "ticket")]


def find_field(key: str, fields: list[Item]) -> Item:
    """The custom field `key` names (its name or its label)."""
    try:
        return NameIndex([{**f, "name": f.get("name"), "label": f.get("label")} for f in fields]).resolve(
            key, ("custom field", "custom fields")
        )
    except ResolveError as exc:
        # Once, by the label people see, with what to type: "Story points (cf.story_points)".
        known = ", ".join(f"{label_of(f)} (cf.{f.get('name')})" for f in fields[:20]) or "none"
        guess = f"; did you mean {', '.join(exc.candidates)}?" if exc.candidates else ""
        raise ResolveError(
            f"no custom field matches '{key}'{guess}; this account's custom fields: {known}"
        ) from None


def label_of(field: Item) -> str:
    """A custom field as people see it in their tool (its label), else its name."""
    return str(field.get("label") or item_name(field))


def field_options(field: Item) -> list[Item]:
    """The field's options as {id, name}: the value to send and the label to show; a value
    listed twice is offered once."""
    options: dict[str, Item] = {}
    for o in field.get("options") or []:
        if isinstance(o, dict) and not o.get("is_hidden"):
            value = str(o.get("value", o.get("label")))
            options.setdefault(value, {"id": value, "name": str(o.get("label", o.get("value")))})
    return list(options.values())


def _option(field: Item, text: str) -> Any:
    options = field_options(field)
    if not options:
        return text
    try:
        return NameIndex(options).resolve(text, ("option", "options"))["id"]
    except ResolveError:
        labels = ", ".join(o["name"] for o in options)
        raise ResolveError(f"{label_of(field)} takes one of: {labels}; got '{text}'") from None


def to_number(text: str) -> int | float:
    """A finite number (an int when whole); ValueError otherwise."""
    number = float(text)
    if not math.isfinite(number):
        raise ValueError(text)
    return int(number) if number.is_integer() else number


def convert(field: Item, texts: tuple[str, ...], today: date) -> Any:
    """The value to send for this field, from what was typed (users are the caller's job)."""
    kind = str(field.get("type") or "string")
    name = label_of(field)
    if kind == "array":
        return [_option(field, t) for t in texts]
    text = ",".join(texts)
    if kind == "number":
        try:
            return to_number(text)
        except ValueError:
            raise ResolveError(f"{name} takes a number, got '{text}'") from None
    if kind == "boolean":
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ResolveError(f"{name} takes yes or no (true/false), got '{text}'")
    if kind in ("date", "datetime"):
        try:
            value: date | datetime = parse_date(text, today)
        except DateError:
            raise ResolveError(f"{name} takes a date: {DATE_FORMS}; got '{text}'") from None
        return value.isoformat()
    if kind == "enum":
        return _option(field, text)
    return text


def merge(current: Any, values: list[Any], op: str, name: str) -> list[Any]:
    """The whole new list of a multi-select for += / -=."""
    now = list(current) if isinstance(current, list) else []
    if op == "add":
        return now + [v for v in values if v not in now]
    missing = [str(v) for v in values if v not in now]
    if missing:
        raise ResolveError(
            f"{name} does not hold {', '.join(missing)} (now: {', '.join(map(str, now)) or 'nothing'})"
        )
    return [v for v in now if v not in values]


def form_fields(fields: Sequence[Item], configured: tuple[str, ...]) -> tuple[list[Item], list[str]]:
    """The custom fields an edit form shows: those the tool marks required, then those the
    account config names (by name or label), each once; and the configured names that match
    no field."""
    ticket_only = [f for f in ticket_fields(fields) if not f.get("is_hidden")]
    chosen = {str(f.get("name")): f for f in ticket_only if f.get("is_required")}
    unknown = []
    for key in configured:
        try:
            field = find_field(key, ticket_only)
        except ResolveError:
            unknown.append(key)
            continue
        chosen.setdefault(str(field.get("name")), field)
    return list(chosen.values()), unknown
