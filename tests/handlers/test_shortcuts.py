"""The message shortcut: one ticket opens the form, several ask which, none asks for an id."""

from __future__ import annotations

from typing import Any

from tests.conftest import JIRA_CHANNEL
from tests.handlers.conftest import Harness, last
from tests.handlers.payloads import message_action, view_submission


async def run_shortcut(harness: Harness, message: dict[str, Any]) -> None:
    await harness.interact(
        message_action(message, channel=JIRA_CHANNEL, response_url=harness.slack.response_url())
    )


async def test_one_linked_ticket_opens_the_form(harness: Harness) -> None:
    await run_shortcut(
        harness, {"text": "Can someone look at <https://acme.atlassian.net/browse/PROJ-42|PROJ-42>?"}
    )
    assert len(harness.calls("views.open")) == 1
    form = last(harness.calls("views.update"))["view"]
    assert form["callback_id"] == "ticket_edit"
    assert "PROJ-42" in form["blocks"][0]["text"]["text"]


async def test_refs_in_attachments_and_blocks_are_found(harness: Harness) -> None:
    message = {
        "text": "",
        "attachments": [{"title_link": "https://acme.atlassian.net/browse/PROJ-7", "fallback": "PROJ-7"}],
        "blocks": [
            {
                "type": "rich_text",
                "elements": [
                    {
                        "type": "rich_text_section",
                        "elements": [{"type": "link", "url": "https://linear.app/acme/issue/ENG-7/crash"}],
                    }
                ],
            }
        ],
    }
    await run_shortcut(harness, message)
    picker = last(harness.calls("views.open"))["view"]
    assert picker["callback_id"] == "ticket_pick"
    options = picker["blocks"][1]["element"]["options"]
    assert [o["value"] for o in options] == ["PROJ-7", "ENG-7"]
    assert harness.sandbox.state.calls() == []


async def test_several_tickets_pick_then_form(harness: Harness) -> None:
    await run_shortcut(harness, {"text": "PROJ-41 blocks PROJ-42"})
    picker = last(harness.calls("views.open"))["view"]
    chosen = picker["blocks"][1]["element"]["options"][1]
    values = {"pick_ticket": {"ticket": {"type": "static_select", "selected_option": chosen}}}
    opened_id = last(harness.calls("views.open"))
    response = await harness.interact(view_submission({**picker, "id": "V0PICK"}, values))
    assert response.json()["response_action"] == "update"
    assert "Loading PROJ-42" in str(response.json()["view"])
    updated = last(harness.calls("views.update"))
    assert updated["view_id"] == "V0PICK"
    assert updated["view"]["callback_id"] == "ticket_edit"
    assert opened_id is not None


async def test_no_ticket_asks_for_one_and_explains(harness: Harness) -> None:
    await run_shortcut(harness, {"text": "lunch at noon?"})
    view = last(harness.calls("views.open"))["view"]
    assert view["callback_id"] == "ticket_enter"
    assert "Looked for Jira browse URL, Linear issue URL" in view["blocks"][0]["text"]["text"]
    bad = {"enter_ticket": {"ticket": {"type": "plain_text_input", "value": "lunch"}}}
    response = await harness.interact(view_submission({**view, "id": "V0ENTER"}, bad))
    assert response.json()["response_action"] == "errors"
    assert "'lunch' is not a ticket reference" in response.json()["errors"]["enter_ticket"]
    good = {"enter_ticket": {"ticket": {"type": "plain_text_input", "value": "PROJ-42"}}}
    response = await harness.interact(view_submission({**view, "id": "V0ENTER"}, good))
    assert response.json()["response_action"] == "update"
    assert last(harness.calls("views.update"))["view"]["callback_id"] == "ticket_edit"
