"""Live selects (block_suggestion): ranked options from the cache, no API call per keystroke."""

from __future__ import annotations

from typing import Any

from tests.scenarios.conftest import Harness
from tests.scenarios.payloads import block_suggestion
from tests.scenarios.test_views import open_form


async def suggest(harness: Harness, view: dict[str, Any], block_id: str, value: str) -> list[dict[str, Any]]:
    response = await harness.interact(block_suggestion(view, block_id, value))
    assert response.status_code == 200
    options: list[dict[str, Any]] = response.json()["options"]
    return options


async def test_users_are_ranked_prefix_first(harness: Harness) -> None:
    view = await open_form(harness)
    harness.reset_counts()
    options = await suggest(harness, view, "field_assignees", "ana")
    names = [o["text"]["text"] for o in options]
    assert names[0] == "Ana Lima"  # exact username
    assert all(name.startswith("Ana") for name in names[:13])
    assert harness.api_calls() == []  # warm: opening the form loaded the users


async def test_at_most_100_options_within_limits(harness: Harness) -> None:
    view = await open_form(harness)
    options = await suggest(harness, view, "field_assignees", "")
    assert len(options) == 100
    assert all(len(o["text"]["text"]) <= 75 and len(o["value"]) <= 150 for o in options)


async def test_tags_substring_and_similar(harness: Harness) -> None:
    view = await open_form(harness)
    assert [o["value"] for o in await suggest(harness, view, "field_tags", "end")] == ["jl1", "jl2"]
    assert [o["text"]["text"] for o in await suggest(harness, view, "field_tags", "securty")] == ["security"]


async def test_forged_view_gets_no_options(harness: Harness) -> None:
    view = await open_form(harness)
    options = await suggest(harness, {**view, "private_metadata": "forged.value"}, "field_assignees", "ana")
    assert options == []
