"""The message shortcut: one ticket opens the form, several ask which, none asks for an id."""

from __future__ import annotations

from typing import Any

from bot.domain.accounts import Permissions, UpdateRule
from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from tests.conftest import JIRA, JIRA_CHANNEL, LINEAR
from tests.scenarios.conftest import Harness, harness_config, last, running
from tests.scenarios.payloads import message_action, view_submission


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
    # Each by its URL (the account it belongs to); a ticket of another tool says which.
    assert [(o["value"], o["text"]["text"]) for o in options] == [
        ("https://acme.atlassian.net/browse/PROJ-7", "PROJ-7"),
        ("https://linear.app/acme/issue/ENG-7/crash", "ENG-7 (Linear)"),
    ]
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


async def test_words_that_look_like_keys_are_not_tickets_once_the_projects_are_known(
    harness: Harness,
) -> None:
    text = "Save it as UTF-8 per ISO-9001 and SHA-256; see PROJ-42 and OPS-3."
    await run_shortcut(harness, {"text": text})  # nothing known yet: every key-like word counts
    options = last(harness.calls("views.open"))["view"]["blocks"][1]["element"]["options"]
    assert [o["value"] for o in options] == ["UTF-8", "ISO-9001", "SHA-256", "PROJ-42", "OPS-3"]
    await harness.core.lookups.get(JIRA, "collections")  # the projects are cached (PROJ, OPS)
    harness.reset_counts()
    await run_shortcut(harness, {"text": text})
    options = last(harness.calls("views.open"))["view"]["blocks"][1]["element"]["options"]
    assert [o["value"] for o in options] == ["PROJ-42", "OPS-3"]
    assert harness.sandbox.state.calls() == []  # read from the cache, before the modal: no API call


async def test_configured_prefixes_count_without_a_cached_list(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> None:
    jira = JIRA.model_copy(update={"key_prefixes": ("PROJ",)})
    async with running(harness_config(sandbox, fake_slack, clean_redis, jira=jira), sandbox, fake_slack) as h:
        await run_shortcut(h, {"text": "UTF-8 broke PROJ-42"})
        assert len(h.calls("views.open")) == 1
        form = last(h.calls("views.update"))["view"]
        assert "PROJ-42" in form["blocks"][0]["text"]["text"]  # one ticket: the form opens at once


async def test_update_all_applies_the_same_changes_to_every_ticket_of_the_message(harness: Harness) -> None:
    await run_shortcut(
        harness, {"text": "PROJ-41 blocks PROJ-42 and <https://acme.atlassian.net/browse/PROJ-43>"}
    )
    picker = last(harness.calls("views.open"))["view"]
    every = picker["blocks"][2]
    assert every["label"]["text"] == "Or update all 3" and every["optional"] is True
    chosen = picker["blocks"][1]["element"]["options"][0]
    values = {
        "pick_ticket": {"ticket": {"type": "static_select", "selected_option": chosen}},
        "update_all": {"update_all_changes": {"type": "plain_text_input", "value": "priority=high"}},
    }
    response = await harness.interact(view_submission({**picker, "id": "V0PICK"}, values))
    assert response.json() == {"response_action": "clear"}
    patched = sorted(c.path.rsplit("/", 1)[1] for c in harness.sandbox.state.calls("PATCH"))
    assert patched == ["PROJ-41", "PROJ-42", "PROJ-43"]
    assert last(harness.calls("chat.update"))["text"] == "<@U0ANA> updated 3 tickets: priority → High"
    assert harness.calls("views.update") == []  # no edit form: the changes were given


async def test_update_all_with_a_mistake_is_answered_on_its_input(harness: Harness) -> None:
    await run_shortcut(harness, {"text": "PROJ-41 blocks PROJ-42"})
    picker = last(harness.calls("views.open"))["view"]
    chosen = picker["blocks"][1]["element"]["options"][0]
    values = {
        "pick_ticket": {"ticket": {"type": "static_select", "selected_option": chosen}},
        "update_all": {"update_all_changes": {"type": "plain_text_input", "value": "priorty=high"}},
    }
    response = await harness.interact(view_submission({**picker, "id": "V0PICK"}, values))
    assert response.json()["response_action"] == "errors"
    assert response.json()["errors"]["update_all"].startswith(
        "unknown field 'priorty'; did you mean 'priority'?"
    )
    assert harness.sandbox.state.calls("PATCH") == []


async def test_tickets_of_a_tool_the_user_may_not_update_are_left_out_and_refused_on_the_form(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> None:
    linear = LINEAR.model_copy(update={"permissions": Permissions(update=UpdateRule(users=("U0BRUNO",)))})
    config = harness_config(sandbox, fake_slack, clean_redis, jira=JIRA, linear=linear)
    async with running(config, sandbox, fake_slack) as h:
        linked = "PROJ-42 is blocked by <https://linear.app/acme/issue/ENG-7/crash>"
        await run_shortcut(h, {"text": linked})
        form = last(h.calls("views.update"))["view"]  # one ticket left: its form opens at once
        assert form["callback_id"] == "ticket_edit" and "PROJ-42" in form["blocks"][0]["text"]["text"]
        h.reset_counts()
        await run_shortcut(h, {"text": "lunch at noon?"})
        view = last(h.calls("views.open"))["view"]
        typed = {
            "enter_ticket": {
                "ticket": {"type": "plain_text_input", "value": "https://linear.app/acme/issue/ENG-7"}
            }
        }
        response = await h.interact(view_submission({**view, "id": "V0ENTER"}, typed))
        assert response.json() == {
            "response_action": "errors",
            "errors": {
                "enter_ticket": "You may not change Linear tickets from Slack; an admin can allow you "
                "(permissions.update of the linear account in the ticketbot config)."
            },
        }
        assert h.calls("views.update") == [] and sandbox.state.calls() == []
