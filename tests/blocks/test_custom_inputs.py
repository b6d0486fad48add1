"""Custom fields in the edit form: an input of the right kind per type, prefilled, valid Block Kit."""

from __future__ import annotations

import math
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blocks.custom_inputs import FORM_LIMIT, custom_inputs, input_kind
from blocks.modal import edit_view
from bot.domain.models import Ticket
from tests.blocks.limits import check_view
from tests.blocks.test_modal import JIRA_CHOICES

SEVERITY = {
    "name": "severity",
    "label": "Severity",
    "type": "enum",
    "is_required": True,
    "options": [{"label": "Minor", "value": "minor"}, {"label": "Major", "value": "major"}],
}
FIELDS: list[dict[str, Any]] = [
    {"name": "story_points", "label": "Story points", "type": "number"},
    SEVERITY,
    {
        "name": "components",
        "label": "Components",
        "type": "array",
        "options": [{"label": "API", "value": "api"}, {"label": "Web", "value": "web"}],
    },
    {"name": "reviewed", "label": "Reviewed", "type": "boolean"},
    {"name": "release_date", "label": "Release date", "type": "date"},
    {"name": "deployed_at", "label": "Deployed at", "type": "datetime"},
    {"name": "reviewer", "label": "Reviewer", "type": "user"},
    {"name": "summary", "type": "string", "description": "One line for the changelog"},
    {"name": "notes", "type": "rich_text"},
    {"name": "labels", "type": "array"},
    {"name": "attachment", "type": "file"},
]
VALUES = {
    "story_points": 3,
    "severity": "major",
    "components": ["web"],
    "reviewed": False,
    "release_date": "2026-12-24",
    "deployed_at": "2026-11-27T15:30:00Z",
    "reviewer": "ju0007",
    "summary": "Fixes SSO",
    "labels": ["a", "b"],
}


def by_block(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {b["block_id"]: b for b in blocks}


def test_each_type_gets_its_input_prefilled() -> None:
    blocks = by_block(custom_inputs(FIELDS, VALUES, {"ju0007": "Grace Hopper"}))
    assert {k: v["element"]["type"] for k, v in blocks.items()} == {
        "cf:number:story_points": "number_input",
        "cf:one:severity": "static_select",
        "cf:many:components": "multi_static_select",
        "cf:bool:reviewed": "static_select",
        "cf:date:release_date": "datepicker",
        "cf:datetime:deployed_at": "datetimepicker",
        "cf:user:reviewer": "external_select",
        "cf:text:summary": "plain_text_input",
        "cf:long:notes": "plain_text_input",
        "cf:list:labels": "plain_text_input",
    }  # a file field can't be edited here and is left out
    assert blocks["cf:number:story_points"]["element"]["initial_value"] == "3"
    assert blocks["cf:one:severity"]["element"]["initial_option"]["value"] == "major"
    assert [o["value"] for o in blocks["cf:many:components"]["element"]["initial_options"]] == ["web"]
    assert blocks["cf:bool:reviewed"]["element"]["initial_option"]["text"]["text"] == "No"
    assert blocks["cf:date:release_date"]["element"]["initial_date"] == "2026-12-24"
    assert blocks["cf:datetime:deployed_at"]["element"]["initial_date_time"] == 1795793400
    assert blocks["cf:user:reviewer"]["element"]["initial_option"] == {
        "text": {"type": "plain_text", "text": "Grace Hopper", "emoji": True},
        "value": "ju0007",
    }
    assert blocks["cf:text:summary"]["element"]["initial_value"] == "Fixes SSO"
    assert blocks["cf:text:summary"]["hint"]["text"] == "One line for the changelog"
    assert blocks["cf:long:notes"]["element"]["multiline"] is True
    assert "initial_value" not in blocks["cf:long:notes"]["element"]
    assert blocks["cf:list:labels"]["element"]["initial_value"] == "a, b"
    assert blocks["cf:list:labels"]["hint"]["text"] == "Separate values with commas"


def test_required_fields_must_be_filled_others_are_optional() -> None:
    blocks = by_block(custom_inputs(FIELDS, {}, {}))
    assert blocks["cf:one:severity"]["optional"] is False
    assert all(b["optional"] for k, b in blocks.items() if k != "cf:one:severity")
    assert "initial_option" not in blocks["cf:one:severity"]["element"]


def test_long_option_lists_search_as_you_type() -> None:
    many = {
        "name": "region",
        "type": "enum",
        "options": [{"label": f"R{n}", "value": f"r{n}"} for n in range(150)],
    }
    [block] = custom_inputs([many], {"region": "r120"}, {})
    assert block["element"]["type"] == "external_select"
    assert block["element"]["initial_option"]["value"] == "r120"
    assert "options" not in block["element"]


def test_kinds_follow_options() -> None:
    assert input_kind({"type": "enum"}) == "text"  # no options listed: free text
    assert input_kind({"type": "array"}) == "list"
    assert input_kind({"type": "time"}) is None
    assert (
        input_kind({"type": "enum", "options": [{"label": "A", "value": "a", "is_hidden": True}]}) == "text"
    )


def test_the_form_with_custom_fields_is_valid_and_bounded() -> None:
    ticket = Ticket.model_validate({"id": "PROJ-42", "name": "Login", "custom_fields": VALUES})
    custom = custom_inputs(FIELDS, VALUES, {})
    view = edit_view(ticket, JIRA_CHOICES, "meta", custom)
    check_view(view)
    ids = [b.get("block_id") for b in view["blocks"]]
    assert ids[-1] == "field_description" and ids[-2] == "cf:list:labels"
    lots = [{"name": f"f{n}", "type": "string"} for n in range(60)]
    assert len(custom_inputs(lots, {}, {})) == FORM_LIMIT
    check_view(edit_view(ticket, JIRA_CHOICES, "meta", custom_inputs(lots, {}, {})))


option_lists = st.lists(
    st.fixed_dictionaries(
        {
            "label": st.text(max_size=120),
            "value": st.text(max_size=200) | st.sampled_from(["a", "b", "x" * 151]),
        },
        optional={"is_hidden": st.booleans()},
    ),
    max_size=130,
)
definitions = st.fixed_dictionaries(
    {
        "name": st.text(min_size=1, max_size=300),
        "type": st.sampled_from(
            [
                "string",
                "text",
                "rich_text",
                "number",
                "boolean",
                "date",
                "datetime",
                "time",
                "enum",
                "array",
                "file",
                "user",
            ]
        ),
    },
    optional={
        "label": st.text(max_size=3000),
        "description": st.text(max_size=3000),
        "is_required": st.booleans(),
        "options": option_lists,
    },
)
values = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=4000)
    | st.lists(st.text(max_size=20), max_size=150)
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(definitions, values), max_size=50))
@pytest.mark.slow
def test_any_definitions_and_values_give_a_valid_form(fields: list[tuple[dict[str, Any], Any]]) -> None:
    definitions = [definition for definition, _ in fields]
    current = {str(definition["name"]): value for definition, value in fields}
    blocks = custom_inputs(definitions, current, {})
    check_view(edit_view(Ticket.model_validate({"id": "1"}), JIRA_CHOICES, "meta", blocks))
    for block in blocks:
        element = block["element"]
        if "initial_value" in element and element["type"] == "number_input":
            assert math.isfinite(float(element["initial_value"]))
        if "initial_date_time" in element:
            assert 0 <= element["initial_date_time"] < 2**31
        if "initial_date" in element:
            date.fromisoformat(element["initial_date"])
        if "options" in element:
            values_offered = [o["value"] for o in element["options"]]
            assert len(values_offered) == len(set(values_offered))
            chosen = element.get("initial_options") or [element.get("initial_option")] * (
                "initial_option" in element
            )
            assert all(o in element["options"] for o in chosen)
