"""The body of `PATCH /unified/ticketing/tickets/{id}` as the seed page ("Update Tickets")
publishes it: its 25 fields in the shapes of the page's PATCH example, written here from the
page and not from the bot's models, so that a wrong guess in the bot is refused here instead of
being shared.

The page's example sends `workspace` as a string id, `items` as an object, `status` and
`ticket_type` as words (and describes `{id, name}` for both), the references (`priority`,
`team`, …) as objects and the lists (`assignees`, `tags`, `collections`, `languages`) as arrays.
A profile may publish another shape for a field in its meta schema (a tool that takes its status
as a reference); the body is then checked against what that profile publishes.
"""

from __future__ import annotations

from typing import Any

Obj = dict[str, Any]

TEXT: Obj = {"type": "string"}
WHEN: Obj = {"type": "string", "format": "date-time"}
REF: Obj = {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string"}}}
REFS: Obj = {"type": "array", "items": REF}
OBJECT: Obj = {"type": "object"}

SEED_FIELDS: dict[str, Obj] = {
    "name": TEXT,
    "assignees": REFS,
    "status": TEXT,
    "due_date": WHEN,
    "ticket_type": TEXT,
    "description": TEXT,
    "html_description": TEXT,
    "parent_ticket": REF,
    "workspace": TEXT,
    "priority": REF,
    "custom_fields": OBJECT,
    "collections": REFS,
    "contact": REF,
    "team": REF,
    "account": REF,
    "tags": REFS,
    "source": REF,
    "completed_at": WHEN,
    "created_at": WHEN,
    "updated_at": WHEN,
    "number": TEXT,
    "languages": {"type": "array", "items": TEXT},
    "items": OBJECT,
    "created_by": REF,
    "remote_data": OBJECT,
}

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "object": (dict,),
    "array": (list,),
}


def unknown_fields(body: Obj) -> list[str]:
    return sorted(set(body) - set(SEED_FIELDS))


def shape_problem(name: str, value: Any, spec: Obj) -> str | None:
    """What is wrong with one field's value against its published spec (None: nothing). A null
    clears a field and is a shape of its own; whether the tool lets it be cleared is the tool's."""
    if value is None:
        return None
    wanted = spec.get("type")
    accepted = _PYTHON_TYPES.get(str(wanted))
    if accepted is None:
        return None
    if not isinstance(value, accepted):
        return f"{name} must be {'an' if wanted in ('object', 'array') else 'a'} {wanted}"
    items = spec.get("items")
    if isinstance(value, list) and isinstance(items, dict):
        for index, item in enumerate(value):
            problem = shape_problem(f"{name}[{index}]", item, items)
            if problem:
                return problem
    return None


def shape_problems(body: Obj, schema: dict[str, Obj]) -> list[str]:
    """Every field whose value does not have the shape `schema` (a profile's published request
    body schema) gives it."""
    found = (shape_problem(name, value, schema.get(name, {})) for name, value in body.items())
    return [problem for problem in found if problem]
