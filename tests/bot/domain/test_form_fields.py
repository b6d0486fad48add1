"""Which custom fields the edit form shows: required ones, then those the account config names."""

from __future__ import annotations

from bot.domain.custom_fields import form_fields

FIELDS = [
    {"name": "story_points", "label": "Story points", "type": "number", "entity_type": "ticket"},
    {"name": "severity", "label": "Severity", "type": "enum", "entity_type": "ticket", "is_required": True},
    {"name": "secret", "type": "string", "entity_type": "ticket", "is_required": True, "is_hidden": True},
    {"name": "goal", "type": "string", "entity_type": "collection", "is_required": True},
    {"name": "reviewer", "label": "Reviewer", "type": "user"},
]


def names(fields: list[dict[str, object]]) -> list[object]:
    return [f["name"] for f in fields]


def test_required_ticket_fields_come_first_then_configured_ones_once() -> None:
    shown, unknown = form_fields(FIELDS, ("Reviewer", "story points", "severity"))
    assert names(shown) == ["severity", "reviewer", "story_points"]
    assert unknown == []


def test_hidden_and_other_entities_fields_are_not_shown() -> None:
    shown, _ = form_fields(FIELDS, ("secret", "goal"))
    assert names(shown) == ["severity"]


def test_configured_names_matching_nothing_are_reported() -> None:
    shown, unknown = form_fields(FIELDS, ("sprint", "story_points"))
    assert names(shown) == ["severity", "story_points"]
    assert unknown == ["sprint"]
