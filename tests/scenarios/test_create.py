"""Starting a ticket from Slack, over signed payloads, the fake Slack and the sandbox: `/ticket
create` (the exact POST, once under retries; a missing required field named before any POST), the
create form, the "Create ticket" shortcut with the card in the message's thread, Undo where the
tool deletes tickets, and the Workflow Builder step."""

from __future__ import annotations

from typing import Any

from blocks import ids
from bot.cli.try_it import step_payload
from tests.conftest import JIRA_CHANNEL, LINEAR_CHANNEL
from tests.scenarios import payloads
from tests.scenarios.conftest import Harness, last
from tests.scenarios.payloads import ANA, BRUNO

CREATE_PATH = "/unified/ticketing/tickets"
COMPLETE = 'create "Checkout fails" project=PROJ type=Bug cf.severity=major'


def creates(harness: Harness) -> list[Any]:
    return [r for r in harness.sandbox.state.calls("POST") if r.path == CREATE_PATH]


def card_posted(harness: Harness) -> dict[str, Any]:
    return last(harness.calls("chat.postMessage"))


def button(blocks: list[dict[str, Any]], action_id: str) -> dict[str, Any]:
    for block in blocks:
        for element in block.get("elements") or []:
            if element.get("action_id") == action_id:
                return dict(element)
    raise AssertionError(f"no {action_id} button")


async def test_a_complete_line_creates_the_ticket_once_and_posts_its_card(harness: Harness) -> None:
    body = payloads.slash_command(
        'create "Checkout fails on Safari" project=PROJ type=Bug priority=high assignee=bruno@acme.example '
        "cf.severity=major due=2026-12-11",
        JIRA_CHANNEL,
        harness.slack.response_url(),
    )
    response = await harness.post(body, "application/x-www-form-urlencoded")
    assert response.status_code == 200 and response.content == b""  # the job was written before the ack
    [sent] = creates(harness)
    assert sent.body == {
        "name": "Checkout fails on Safari",
        "collections": [{"id": "jc1", "name": "PROJ", "type": "project"}],
        "ticket_type": {"id": "jt1", "name": "Bug"},
        "priority": {"id": "jp2", "name": "High"},
        "assignees": [{"id": "ju0003", "name": "Bruno Costa"}],
        "custom_fields": {"severity": "major"},
        "due_date": "2026-12-11",
    }
    assert dict(sent.query)["integrated_account_id"] == "sandbox-jira"
    assert sent.headers.get("idempotency-key")
    # Never the update meta: the create meta was read for what a new ticket needs.
    metas = [r.path for r in harness.sandbox.state.calls("GET") if "/meta/" in r.path]
    assert "/unified/ticketing/tickets/meta/create" in metas
    assert "PROJ-61" in harness.sandbox.state.profiles["sandbox-jira"].tickets
    card = card_posted(harness)
    assert card["channel"] == JIRA_CHANNEL
    said = str(card["blocks"])
    assert "<@U0ANA> created <https://acme.atlassian.net/browse/PROJ-61|PROJ-61>" in said
    assert "Checkout fails on Safari" in said
    undo = button(card["blocks"], ids.UNDO_CREATE)  # Jira deletes tickets: Undo is offered
    assert undo["confirm"]["title"]["text"] == "Delete this ticket?"
    # Slack sends the same command again (its retry): still one ticket.
    await harness.post(body, "application/x-www-form-urlencoded")
    assert len(harness.sandbox.state.created) == 1
    records = await harness.core.service.audit.read(ticket="PROJ-61")  # type: ignore[union-attr]
    assert [r.changes[0]["field"] for r in records] == ["created"]


async def test_a_missing_required_field_is_named_with_what_it_takes_before_any_post(harness: Harness) -> None:
    """When the create meta cannot be read in time for the ack (here: the API is slow), the job
    names what is missing, nothing is POSTed, and "Open the form" opens it prefilled."""
    harness.sandbox.state.fail_next(delay=1.0, method="GET", path_contains="/tickets/meta/create")
    await harness.command('create "Search is slow" priority=high')
    assert creates(harness) == []
    said = last(harness.calls("response"))
    assert said["text"].startswith(
        "Jira needs Project, Type and Severity to create a ticket. "
        "Project: PROJ, OPS; Type: Bug, Task, Story, Epic; Severity: Minor, Major, Critical. "
        "Add project=PROJ type=Bug cf.severity=Minor, or use the form. Nothing was sent."
    )
    opener = button(said["blocks"], ids.CREATE_FORM_BUTTON)
    await harness.interact(
        payloads.block_actions(
            {
                "action_id": ids.CREATE_FORM_BUTTON,
                "block_id": "b",
                "type": "button",
                "value": opener["value"],
            },
            channel=JIRA_CHANNEL,
            response_url=harness.slack.response_url(),
        )
    )
    form = last(harness.calls("views.update"))["view"]
    assert form["callback_id"] == ids.CREATE_VIEW
    inputs = {b["block_id"]: b for b in form["blocks"] if b["type"] == "input"}
    assert inputs[ids.field_block("name")]["element"]["initial_value"] == "Search is slow"
    assert inputs[ids.field_block("priority")]["element"]["initial_option"]["value"] == "jp2"
    # What the tool requires must be filled in on the form (Slack refuses to submit without).
    for required in ("name", "collections", "ticket_type"):
        assert "optional" not in inputs[ids.field_block(required)]
    assert inputs["cf:one:severity"]["optional"] is False
    assert creates(harness) == []


async def test_once_the_create_meta_is_known_the_command_opens_the_form_at_once(harness: Harness) -> None:
    await harness.command('create "Search is slow" priority=high')  # the meta is read (and kept)
    harness.reset_counts()
    await harness.command('create "Export times out" type=Task')
    assert creates(harness) == []
    form = last(harness.calls("views.update"))["view"]
    assert form["callback_id"] == ids.CREATE_VIEW
    assert form["blocks"][0]["text"]["text"] == (
        ":pencil2: Jira needs Project and Severity for a new ticket: fill them in below."
    )
    said = last(harness.calls("response"))["text"]
    assert said.startswith("Jira needs Project and Severity to create a ticket. Project: PROJ, OPS;")
    assert said.endswith("the form is open, with what you typed.")


async def submit_form(harness: Harness, form: dict[str, Any], values: dict[str, Any], **more: Any) -> Any:
    state = {block: {ids.FIELD_ACTION: value} for block, value in values.items()}
    submission = payloads.view_submission({**form, "id": "V0CREATE", "hash": "h1"}, state, **more)
    return await harness.interact(submission)


def _select(value: str, text: str) -> dict[str, Any]:
    return {
        "type": "static_select",
        "selected_option": {"value": value, "text": {"type": "plain_text", "text": text}},
    }


async def open_form(harness: Harness) -> dict[str, Any]:
    await harness.command("create")
    form: dict[str, Any] = last(harness.calls("views.update"))["view"]
    return form


async def test_the_form_creates_one_ticket_under_double_submits(harness: Harness) -> None:
    form = await open_form(harness)
    assert [b["block_id"] for b in form["blocks"] if b["type"] == "input"][:3] == [
        ids.field_block("collections"),
        ids.field_block("ticket_type"),
        ids.field_block("name"),
    ]  # the project and type first
    values = {
        ids.field_block("collections"): _select("jc2", "OPS"),
        ids.field_block("ticket_type"): _select("jt2", "Task"),
        ids.field_block("name"): {"type": "plain_text_input", "value": "Rotate the TLS certificates"},
        ids.field_block("description"): {"type": "plain_text_input", "value": "Before Friday."},
        "cf:one:severity": _select("minor", "Minor"),
    }
    first = await submit_form(harness, form, values)
    assert first.status_code == 200 and first.content == b""  # the form closes
    await submit_form(harness, form, values)  # a double click: the same view and hash
    [sent] = creates(harness)
    assert sent.body == {
        "name": "Rotate the TLS certificates",
        "description": "Before Friday.",
        "collections": [{"id": "jc2", "name": "OPS"}],
        "ticket_type": {"id": "jt2", "name": "Task"},
        "custom_fields": {"severity": "minor"},
    }
    assert len(harness.sandbox.state.created) == 1
    assert "OPS-1" in harness.sandbox.state.profiles["sandbox-jira"].tickets
    assert card_posted(harness)["channel"] == JIRA_CHANNEL


async def test_the_form_refuses_another_persons_or_an_altered_form(harness: Harness) -> None:
    form = await open_form(harness)
    values = {ids.field_block("name"): {"type": "plain_text_input", "value": "x"}}
    other = await submit_form(harness, form, values, user=BRUNO)
    assert other.json()["response_action"] == "errors"
    altered = {**form, "private_metadata": form["private_metadata"][:-3] + "AAA"}
    refused = await submit_form(harness, altered, values)
    assert refused.json()["response_action"] == "errors"
    assert creates(harness) == []


async def test_create_ticket_on_a_message_posts_the_card_in_its_thread(harness: Harness) -> None:
    shortcut = payloads.message_action(
        {
            "text": "Checkout <https://shop.example/cart|cart> fails for <@U0ANA>\nSteps: add two items",
            "ts": "1732770000.000300",
        },
        channel=JIRA_CHANNEL,
        response_url=harness.slack.response_url(),
        user=ANA,
    )
    shortcut["callback_id"] = ids.CREATE_SHORTCUT
    await harness.interact(shortcut)
    form = last(harness.calls("views.update"))["view"]
    inputs = {b["block_id"]: b for b in form["blocks"] if b["type"] == "input"}
    title = inputs[ids.field_block("name")]["element"]["initial_value"]
    description = inputs[ids.field_block("description")]["element"]["initial_value"]
    assert title == "Checkout cart (https://shop.example/cart) fails for @Ana"  # Slack's name for them
    assert description == (
        "Checkout cart (https://shop.example/cart) fails for @Ana\nSteps: add two items\n\n"
        f"— Bruno in Slack: https://acme.slack.com/archives/{JIRA_CHANNEL}/p1732770000000300"
    )
    values = {
        ids.field_block("collections"): _select("jc1", "PROJ"),
        ids.field_block("ticket_type"): _select("jt1", "Bug"),
        ids.field_block("name"): {"type": "plain_text_input", "value": title},
        ids.field_block("description"): {"type": "plain_text_input", "value": description},
        "cf:one:severity": _select("major", "Major"),
    }
    await submit_form(harness, form, values)
    [sent] = creates(harness)
    assert sent.body["name"] == title
    posts = harness.calls("chat.postMessage")
    card = next(
        c.args
        for c in posts
        if c.args.get("thread_ts") == "1732770000.000300"
        and "blocks" in c.args
        and "created" in str(c.args["blocks"])
    )
    assert card["channel"] == JIRA_CHANNEL
    assert "from <@U0BRUNO>'s message" in str(card["blocks"])
    assert ids.SYNC_THREAD not in str(card["blocks"])  # the thread follows the ticket already
    # Jira's comments can follow a thread: the message's thread is synced with the new ticket.
    notice = next(c.args for c in posts if c.args.get("text") == "This thread is synced with PROJ-61")
    assert notice["thread_ts"] == "1732770000.000300" and ids.UNSYNC_THREAD in str(notice["blocks"])
    # The author, who is not the creator, is told.
    told = [c.args for c in posts if c.args.get("channel") == "U0BRUNO"]
    assert told and told[0]["text"].startswith(
        "<@U0ANA> created <https://acme.atlassian.net/browse/PROJ-61|PROJ-61> in Jira from your message"
    )


async def test_undo_deletes_the_new_ticket_where_the_tool_deletes(harness: Harness) -> None:
    await harness.command('create "Temp" project=PROJ type=Task cf.severity=minor')
    card = card_posted(harness)
    undo = button(card["blocks"], ids.UNDO_CREATE)
    click = {"action_id": ids.UNDO_CREATE, "block_id": "a", "type": "button", "value": undo["value"]}
    # Someone else may not delete it.
    await harness.interact(
        payloads.block_actions(
            click, channel=JIRA_CHANNEL, response_url=harness.slack.response_url(), user=BRUNO
        )
    )
    assert harness.sandbox.state.calls("DELETE") == []
    assert last(harness.calls("response"))["text"].startswith("Only <@U0ANA>, who created PROJ-61, can undo")
    await harness.interact(
        payloads.block_actions(
            click,
            channel=JIRA_CHANNEL,
            response_url=harness.slack.response_url(),
            message={"type": "message", "blocks": card["blocks"]},
        )
    )
    [deleted] = harness.sandbox.state.calls("DELETE")
    assert deleted.path == "/unified/ticketing/tickets/PROJ-61"
    assert "PROJ-61" not in harness.sandbox.state.profiles["sandbox-jira"].tickets
    assert "undid the creation of PROJ-61" in last(harness.calls("response"))["text"]


async def test_no_undo_where_the_tool_cannot_delete(harness: Harness) -> None:
    harness.sandbox.state.profiles["sandbox-linear"].can_delete = False  # capabilities: no delete
    await harness.command('create "Dark mode" team=Engineering', channel=LINEAR_CHANNEL)
    [sent] = creates(harness)
    assert sent.body == {"name": "Dark mode", "team": {"id": "lteam1", "name": "Engineering"}}
    card = card_posted(harness)
    assert card["channel"] == LINEAR_CHANNEL and "ENG-41" in str(card["blocks"])
    assert ids.UNDO_CREATE not in str(card["blocks"]) and ids.UNDO not in str(card["blocks"])


def step_outputs(harness: Harness) -> list[dict[str, Any]]:
    return [c.args for c in harness.calls("functions.completeSuccess")]


async def test_the_create_step_makes_one_ticket_under_retries_and_outputs_it(harness: Harness) -> None:
    envelope = step_payload(
        "T0TEAM",
        "create_ticket",
        {
            "title": "Customer cannot log in",
            "description": "Reported through the support form.\nPlan: enterprise",
            "fields": "project=OPS type=Bug cf.severity=critical priority=highest",
            "channel": JIRA_CHANNEL,
            "interactivity": {"interactivity_pointer": "1.2.3", "interactor": {"id": "U0ANA", "secret": "s"}},
        },
        "Fx0CREATE01",
    )
    assert (await harness.event(envelope)).status_code == 200
    await harness.event(envelope, retry_num=1)  # Slack's retry of the same execution
    [sent] = creates(harness)
    assert sent.body == {
        "name": "Customer cannot log in",
        "description": "Reported through the support form.\nPlan: enterprise",
        "collections": [{"id": "jc2", "name": "OPS", "type": "project"}],
        "ticket_type": {"id": "jt1", "name": "Bug"},
        "custom_fields": {"severity": "critical"},
        "priority": {"id": "jp1", "name": "Highest"},
    }
    [done] = step_outputs(harness)
    assert done["function_execution_id"] == "Fx0CREATE01"
    assert done["outputs"] == {
        "ticket_id": "OPS-1",
        "ticket_url": "https://acme.atlassian.net/browse/OPS-1",
        "title": "Customer cannot log in",
    }


async def test_the_create_step_fails_naming_what_the_tool_requires(harness: Harness) -> None:
    envelope = step_payload(
        "T0TEAM", "create_ticket", {"title": "Half a ticket", "fields": "priority=low"}, "Fx0CREATE02"
    )
    await harness.event(envelope)
    assert creates(harness) == []
    [failed] = [c.args for c in harness.calls("functions.completeError")]
    assert failed["error"].startswith("Jira needs Project, Type and Severity to create a ticket.")
    assert failed["error"].endswith("cf.severity=Minor to the step's Fields. Nothing was sent.")
    bad = step_payload("T0TEAM", "create_ticket", {"title": "x", "fields": "tags+=a"}, "Fx0CREATE03")
    await harness.event(bad)
    assert [c.args for c in harness.calls("functions.completeError")][-1]["error"].startswith(
        "The step's Fields: tags+= changes an existing list"
    )


async def test_subscribed_channels_hear_of_a_new_ticket_once_and_its_assignee_is_told(
    harness: Harness,
) -> None:
    other = "C0TRIAGE"  # routed to Jira by default
    harness.slack.state.memberships["U0ANA"] = [JIRA_CHANNEL, other]
    await harness.command("subscribe --events created", channel=JIRA_CHANNEL)
    await harness.command("subscribe --events created", channel=other)
    await harness.command("notify on", user=BRUNO)
    await harness.command(COMPLETE + " assignee=bruno@acme.example")
    harness.reset_counts()
    await harness.truto_event(payloads.record_event("created", "PROJ-61"))  # the tool's event
    await harness.truto_event(payloads.record_event("created", "PROJ-61"))  # delivered again
    posts = harness.calls("chat.postMessage")
    # The channel where it was created saw its card already; the other channel hears once.
    assert [c.args["channel"] for c in posts if c.args["channel"] in (JIRA_CHANNEL, other)] == [other]
    line = next(c.args for c in posts if c.args["channel"] == other)["blocks"][0]["text"]["text"]
    assert line.startswith("*<https://acme.atlassian.net/browse/PROJ-61|PROJ-61>* Checkout fails")
    assert "by <@U0ANA> from Slack" in line
    [dm] = [c.args for c in posts if c.args["channel"] == "U0BRUNO"]
    assert dm["blocks"][0]["elements"][0]["text"] == "PROJ-61 was assigned to you"
    assert dm["blocks"][1]["text"]["text"].endswith("· by <@U0ANA> from Slack")


async def test_the_home_tab_creates_a_ticket_and_sends_its_card_in_a_dm(harness: Harness) -> None:
    from tests.scenarios.test_home import home_opened

    await harness.event(home_opened("U0ANA"))
    home = last(harness.calls("views.publish"))["view"]
    create = next(
        b["accessory"] for b in home["blocks"] if b.get("accessory", {}).get("action_id") == ids.HOME_CREATE
    )
    assert create["text"]["text"] == "Create a ticket"
    await harness.interact(
        payloads.block_actions(
            {"action_id": ids.HOME_CREATE, "block_id": "h", "type": "button", "value": create["value"]},
            channel="D0HOME",
            response_url=harness.slack.response_url(),
        )
    )
    form = last(harness.calls("views.update"))["view"]
    assert form["callback_id"] == ids.CREATE_VIEW
    values = {
        ids.field_block("collections"): _select("jc1", "PROJ"),
        ids.field_block("ticket_type"): _select("jt3", "Story"),
        ids.field_block("name"): {"type": "plain_text_input", "value": "From Home"},
        "cf:one:severity": _select("minor", "Minor"),
    }
    await submit_form(harness, form, values)
    assert harness.sandbox.state.created[0][1]["name"] == "From Home"
    card = card_posted(harness)
    assert card["channel"] == "U0ANA" and "PROJ-61" in str(card["blocks"])


async def test_the_create_forms_assignees_search_the_tools_users_for_its_user_alone(harness: Harness) -> None:
    form = await open_form(harness)
    asked = payloads.block_suggestion(form, ids.field_block("assignees"), "carla")
    found = (await harness.interact(asked)).json()["options"]
    assert [o["text"]["text"] for o in found][:1] == ["Carla Mendes"] and found[0]["value"] == "ju0004"
    other = payloads.block_suggestion(form, ids.field_block("assignees"), "carla", user=BRUNO)
    assert (await harness.interact(other)).json()["options"] == []  # not the form's user
