"""Edit-form inputs for custom fields: one input of the kind the field's type calls for,
prefilled with the ticket's value. The block_id names the kind and the field (ids.custom_block)
so that a submission can be read back from the view alone."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from blocks import ids
from blocks.modal import iso_day, option, plain
from blocks.text import truncate
from bot.domain.custom_fields import field_options
from bot.domain.matching import Item

STATIC_LIMIT = 100
FORM_LIMIT = 40  # custom inputs per form; a modal holds 100 blocks
BOOLEAN_OPTIONS = (("true", "Yes"), ("false", "No"))

# The input kind per field type; array and enum take a select when they list options.
_KINDS = {
    "number": "number",
    "boolean": "bool",
    "date": "date",
    "datetime": "datetime",
    "user": "user",
    "string": "text",
    "text": "long",
    "rich_text": "long",
}


def input_kind(field: Item) -> str | None:
    """How the form edits this field, or None when it can't (time, file, …)."""
    kind = str(field.get("type") or "string")
    if kind == "enum":
        return "one" if field_options(field) else "text"
    if kind == "array":
        return "many" if field_options(field) else "list"
    return _KINDS.get(kind)


def _timestamp(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    stamp = int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp())
    return stamp if 0 <= stamp < 2**31 else None  # what a datetimepicker can show


def _number(value: Any) -> str | None:
    """The number as a number input shows it; None past what it can hold exactly (the form
    then starts empty, and the value stays unless the user types one)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if isinstance(value, int):
        return str(value) if abs(value) < 10**15 else None
    if not math.isfinite(value) or abs(value) >= 1e15:
        return None
    return str(int(value)) if value.is_integer() else repr(value)


def _select(options: list[dict[str, Any]], current: Any, many: bool, label: str) -> dict[str, Any]:
    values = [str(v) for v in current] if isinstance(current, list) else [str(current)]
    chosen = [o for o in options if o["value"] in values] if current is not None else []
    if len(options) <= STATIC_LIMIT:
        element: dict[str, Any] = {
            "type": "multi_static_select" if many else "static_select",
            "options": options,
        }
    else:  # served by the live-select handler from the field's own options
        element = {"type": "multi_external_select" if many else "external_select", "min_query_length": 0}
    element["placeholder"] = plain(f"Choose {label.lower()}", 150)
    if many and chosen:
        element["initial_options"] = chosen[:100]
    elif chosen:
        element["initial_option"] = chosen[0]
    return element


def _element(kind: str, field: Item, current: Any, user_name: str | None) -> dict[str, Any]:
    label = str(field.get("label") or field.get("name"))
    element: dict[str, Any]
    if kind == "number":
        element = {"type": "number_input", "is_decimal_allowed": True}
        if _number(current) is not None:
            element["initial_value"] = _number(current)
    elif kind == "bool":
        options = [o for o in (option({"id": v, "name": t}) for v, t in BOOLEAN_OPTIONS) if o]
        shown = str(current).lower() if isinstance(current, bool) else None
        element = _select(options, shown, False, label)
    elif kind == "date":
        element = {"type": "datepicker"}
        if iso_day(current):
            element["initial_date"] = iso_day(current)
    elif kind == "datetime":
        element = {"type": "datetimepicker"}
        if _timestamp(current) is not None:
            element["initial_date_time"] = _timestamp(current)
    elif kind in ("one", "many"):
        options = [o for o in map(option, field_options(field)) if o]
        element = _select(options, current, kind == "many", label)
    elif kind == "user":
        element = {
            "type": "external_select",
            "min_query_length": 1,
            "placeholder": plain("Search people", 150),
        }
        initial = option({"id": current, "name": user_name}) if current else None
        if initial:
            element["initial_option"] = initial
    else:  # text, long, list (comma-separated)
        element = {"type": "plain_text_input", "multiline": kind == "long", "max_length": 3000}
        text = ", ".join(map(str, current)) if isinstance(current, list) else current
        if isinstance(text, str | int | float) and str(text):
            element["initial_value"] = truncate(str(text), 3000)
    return element


def custom_inputs(
    fields: Sequence[Item], values: Mapping[str, Any], user_names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Input blocks for these custom fields; a required one must be filled to save."""
    blocks: list[dict[str, Any]] = []
    for field in fields:
        name = str(field.get("name") or "")
        kind = input_kind(field)
        block_id = ids.custom_block(kind, name) if kind and name else None
        if kind is None or block_id is None:
            continue
        current = values.get(name)
        block: dict[str, Any] = {
            "type": "input",
            "block_id": block_id,
            "label": plain(str(field.get("label") or name), 2000),
            "optional": not field.get("is_required"),
            "element": {
                **_element(kind, field, current, user_names.get(str(current))),
                "action_id": ids.FIELD_ACTION,
            },
        }
        hint = "Separate values with commas" if kind == "list" else field.get("description")
        if hint:
            block["hint"] = plain(str(hint), 2000)
        blocks.append(block)
        if len(blocks) == FORM_LIMIT:
            break
    return blocks
