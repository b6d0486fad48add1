"""/ticket over signed HTTP: update, errors, show, help, edit, call counts."""

from __future__ import annotations

from typing import Any

from blocks.messages import notice_blocks
from tests.conftest import JIRA_CHANNEL, LINEAR_CHANNEL
from tests.scenarios.conftest import Harness, last
from tests.scenarios.payloads import SIGNING_SECRET, sign, slash_command


def texts(blocks: list[dict[str, Any]]) -> str:
    """Every text in a list of blocks, to search."""
    out: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if isinstance(node.get("text"), str):
                out.append(node["text"])
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(blocks)
    return "\n".join(out)


async def test_update_posts_the_card_in_channel(harness: Harness) -> None:
    response = await harness.command(
        'update PROJ-42 status="In Progress" priority=high assignee=<@U0ANA|ana>'
    )
    assert response.status_code == 200
    assert response.content == b""  # acked at once, nothing shown yet
    [patch] = harness.sandbox.state.calls("PATCH")
    assert patch.body == {
        "assignees": [{"id": "ju0001", "name": "Ana Lima"}],
        "status": {"id": "js2", "name": "In Progress"},
        "priority": {"id": "jp2", "name": "High"},
    }
    posted = last(harness.calls("chat.postMessage"))
    assert posted["channel"] == JIRA_CHANNEL  # as the bot: the card can be kept up to date
    assert harness.calls("response") == []
    content = texts(posted["blocks"])
    assert "Login fails with SSO" in content
    assert (
        "<@U0ANA> changed status To Do → In Progress, priority Medium → High, assignees Bruno Costa → Ana Lima"
        in content
    )


async def test_parse_errors_are_answered_in_the_ack_and_nothing_is_sent(harness: Harness) -> None:
    response = await harness.command("update PROJ-42 priorty=high")
    assert response.status_code == 200
    answer = response.json()
    assert answer["response_type"] == "ephemeral"
    assert answer["text"].startswith("Unknown field 'priorty'; did you mean 'priority'? Fields: title")
    assert harness.sandbox.state.calls() == []
    assert harness.calls("response") == []


async def test_resolution_errors_go_to_the_user_alone(harness: Harness) -> None:
    await harness.command("PROJ-42 status=finished")
    answer = last(harness.calls("response"))
    assert answer["response_type"] == "ephemeral"
    assert "no status matches 'finished'; accepted: To Do, In Progress, In Review, Done" in answer["text"]
    assert harness.sandbox.state.calls("PATCH") == []


async def test_ambiguous_user_lists_candidates(harness: Harness) -> None:
    await harness.command("PROJ-42 assignee=ana")
    answer = last(harness.calls("response"))
    assert "'ana' matches several users: Ana Lima (ana@acme.example), Ana Souza" in answer["text"]


async def test_a_mention_without_a_ticketing_user_names_her(harness: Harness) -> None:
    await harness.command("PROJ-42 assignee=<@U0NOBODY|nobody>")
    answer = last(harness.calls("response"))
    assert "@nobody (nobody@else.example) has no user in the Jira account" in answer["text"]
    assert harness.sandbox.state.calls("PATCH") == []


async def test_warm_update_costs_one_api_call_and_one_slack_call(harness: Harness) -> None:
    await harness.command("PROJ-42 status=done assignee=<@U0ANA|ana>")  # warms lookups, users.info, snapshot
    harness.reset_counts()
    await harness.command("PROJ-42 status=todo assignee=<@U0ANA|ana>")
    assert harness.api_calls() == [("PATCH", "/unified/ticketing/tickets/PROJ-42")]
    assert [c.method for c in harness.slack.state.calls] == ["chat.postMessage"]


async def test_a_ticket_not_seen_before_costs_a_get_and_a_patch(harness: Harness) -> None:
    await harness.command("PROJ-42 status=done")
    harness.reset_counts()
    await harness.command("PROJ-41 status=done")
    assert harness.api_calls() == [
        ("GET", "/unified/ticketing/tickets/PROJ-41"),
        ("PATCH", "/unified/ticketing/tickets/PROJ-41"),
    ]


async def test_show_is_ephemeral_with_share_button(harness: Harness) -> None:
    await harness.command("show PROJ-42")
    answer = last(harness.calls("response"))
    assert answer["response_type"] == "ephemeral"
    actions = next(b for b in answer["blocks"] if b["type"] == "actions")["elements"]
    assert [e.get("action_id") for e in actions] == [
        "ticket_edit_open",
        "ticket_open_url",
        "ticket_status_select",
        "ticket_assign_me",
        "ticket_share",
    ]
    assert harness.sandbox.state.calls("PATCH") == []


async def test_help_lists_the_channel_accounts_names(harness: Harness) -> None:
    await harness.command("help", channel=LINEAR_CHANNEL)
    content = texts(last(harness.calls("response"))["blocks"])
    assert "This channel updates Linear" in content
    assert "Statuses: Backlog, Todo, In Progress, Done, Canceled" in content
    assert "Priorities: Urgent, High, Medium, Low" in content
    fields_line = next(line for line in content.splitlines() if line.startswith("Fields it can change: "))
    assert "due_date" not in fields_line and "ticket_type" not in fields_line and "status" in fields_line
    assert "Custom fields" not in content  # Linear lists no definitions
    assert "invite the bot (`/invite @ticketbot`) to post cards here as itself" in content
    assert "in Workflow Builder, the steps *Update a ticket*, *Get a ticket* and *Create a ticket*" in content
    # Examples in this tool's terms: a status and a priority from its own lists.
    assert "`/ticket update PROJ-42 status=Todo priority=urgent`  set fields" in content
    assert "`/ticket update PROJ-1 PROJ-2 PROJ-10..PROJ-14 status=Todo`  many tickets at once" in content
    # The everyday fields by the names people type; the rest under More.
    assert "More: html_description, number, source, contact, account, completed_at, languages" in content
    await harness.command("")
    content = texts(last(harness.calls("response"))["blocks"])
    assert "Statuses: To Do, In Progress, In Review, Done" in content
    assert "due_date" in content and "created_at" not in content.split("Fields it can change: ")[1]  # locked
    assert (
        "Custom fields: cf.story_points, cf.severity, cf.components, cf.reviewed, cf.release_date, "
        "cf.reviewer, cf.deployed_at" in content
    )


async def test_edit_opens_loading_view_before_any_api_call(harness: Harness) -> None:
    await harness.command("edit PROJ-42")
    [opened] = harness.calls("views.open")
    assert "Loading PROJ-42" in texts(opened.args["view"]["blocks"])
    assert opened.at < min(r.at for r in harness.sandbox.state.requests)
    [updated] = harness.calls("views.update")
    assert updated.args["view_id"] == opened.answer["view"]["id"]
    assert updated.args["view"]["submit"]["text"] == "Save"
    assert updated.at > max(r.at for r in harness.sandbox.state.requests)


async def test_bad_signature_is_refused_with_no_work(harness: Harness) -> None:
    body = slash_command("PROJ-42 status=done", JIRA_CHANNEL, harness.slack.response_url())
    for headers in (sign(body, secret="wrong"), {}, sign(body, SIGNING_SECRET, timestamp=1_000_000)):
        response = await harness.post(body, "application/x-www-form-urlencoded", headers)
        assert response.status_code == 401
    assert harness.sandbox.state.calls() == []
    assert harness.slack.state.calls == []


async def test_api_failure_is_said_plainly(harness: Harness) -> None:
    harness.sandbox.state.fail_next(401, method="PATCH", body={"truto_is_remote_error": True})
    await harness.command("PROJ-42 status=done")
    answer = last(harness.calls("response"))
    assert answer["response_type"] == "ephemeral"
    assert "needs to be re-authorised" in answer["text"]


async def test_unexpected_errors_reach_the_user_with_an_error_id(
    harness: Harness, monkeypatch: Any, caplog: Any
) -> None:
    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("token=xoxb-1234-5678-test leaked?")

    monkeypatch.setattr(harness.core.service, "apply", broken)
    await harness.command("PROJ-42 status=done")
    answer = last(harness.calls("response"))
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == "Something went wrong on our side; nothing more was changed."
    error_id = answer["blocks"][0]["text"]["text"].split("Error id: ")[1].strip("_")
    assert any(error_id in r.getMessage() for r in caplog.records)
    assert "xoxb" not in str(answer)


async def test_slack_profile_emails_are_cached(harness: Harness) -> None:
    await harness.command("PROJ-42 assignee=<@U0BRUNO|bruno>")
    await harness.command("PROJ-41 assignee=<@U0BRUNO|bruno>")
    await harness.command("PROJ-40 assignee=me", user={"id": "U0BRUNO", "username": "bruno", "name": "bruno"})
    # One users.info per person, whatever they are asked for: U0ANA's standing (member or guest)
    # as the one who updates, U0BRUNO's email as the assignee (and then as the one who updates).
    assert sorted(c.args["user"] for c in harness.calls("users.info")) == ["U0ANA", "U0BRUNO"]


async def test_opening_the_form_with_warm_lists_costs_one_fetch(harness: Harness) -> None:
    await harness.command("edit PROJ-7")  # lists cached from here on
    harness.reset_counts()
    await harness.command("edit PROJ-42")
    assert harness.api_calls() == [("GET", "/unified/ticketing/tickets/PROJ-42")]
    assert [c.method for c in harness.slack.state.calls] == ["views.open", "views.update"]


async def test_a_mention_sets_a_user_custom_field(harness: Harness) -> None:
    await harness.command("PROJ-42 cf.reviewer=<@U0ANA|ana>")
    [patch] = harness.sandbox.state.calls("PATCH")
    assert patch.body == {"custom_fields": {"reviewer": "ju0001"}}  # found by her Slack email


async def test_a_mention_in_a_text_custom_field_is_the_name_as_written(harness: Harness) -> None:
    await harness.command("ENG-7 cf.owner=<@U0ANA|ana>", channel=LINEAR_CHANNEL)
    [patch] = harness.sandbox.state.calls("PATCH")
    assert patch.body == {"custom_fields": {"owner": "@ana"}}


async def test_an_unknown_ticket_is_named_with_its_tool_and_offers_no_retry(harness: Harness) -> None:
    await harness.command("PROJ-9999 status=done")
    answer = last(harness.calls("response"))
    assert answer["text"] == "No PROJ-9999 in Jira."  # the ticket named once
    assert [b["type"] for b in answer["blocks"]] == ["section"]  # no Retry: a retry cannot help
    await harness.command("show proj-42")  # a key typed in lower case is found
    assert last(harness.calls("response"))["blocks"][0]["type"] == "header"


async def test_no_change_sends_nothing_and_says_so_quietly(harness: Harness) -> None:
    await harness.command("PROJ-42 priority=medium status=todo")
    answer = last(harness.calls("response"))
    assert answer["response_type"] == "ephemeral"
    assert answer["text"] == "PROJ-42 already has priority Medium and status To Do; nothing was sent."
    assert ":warning:" not in str(answer["blocks"])  # nothing is wrong
    assert harness.sandbox.state.calls("PATCH") == [] and harness.calls("chat.postMessage") == []


async def test_a_stale_snapshot_is_checked_before_calling_an_update_a_no_op(harness: Harness) -> None:
    await harness.command("show PROJ-42")  # the bot saw priority Medium
    harness.sandbox.state.profiles["sandbox-jira"].tickets["PROJ-42"]["priority"] = {
        "id": "jp2",
        "name": "High",
    }
    harness.reset_counts()
    await harness.command("PROJ-42 priority=medium")  # a change after all: High → Medium
    [patch] = harness.sandbox.state.calls("PATCH")
    assert patch.body == {"priority": {"id": "jp3", "name": "Medium"}}


async def test_an_at_name_typed_by_hand_is_told_to_use_the_autocomplete(harness: Harness) -> None:
    await harness.command("PROJ-42 assignee=@ana")
    text = last(harness.calls("response"))["text"]
    assert text.startswith("Assignee: 'ana' matches several users: Ana Lima (ana@acme.example), ")
    assert text.endswith(
        " and 8 more; pick @ana from Slack's autocomplete so it becomes a mention, or use an email. Nothing was sent."
    )
    assert harness.sandbox.state.calls("PATCH") == []


async def test_an_unknown_mention_is_named_by_a_mention_not_a_raw_id(harness: Harness) -> None:
    await harness.command("PROJ-42 assignee=<@U0NOBODY>")
    answer = last(harness.calls("response"))
    assert answer["text"] == (
        "Assignee: <@U0NOBODY> (nobody@else.example) has no user in the Jira account with that email. "
        "Nothing was sent."
    )
    # Slack draws <@U0NOBODY> as the person's name; anything else stays escaped.
    assert answer["blocks"][0]["text"]["text"] == f":warning: {answer['text']}"
    assert harness.sandbox.state.calls("PATCH") == []


def test_only_user_mentions_survive_in_an_answer() -> None:
    [block] = notice_blocks("<@U0ANA> <!channel> <@U0BOSS|boss> <#C0GEN>")
    assert block["text"]["text"] == "<@U0ANA> &lt;!channel&gt; &lt;@U0BOSS|boss&gt; &lt;#C0GEN&gt;"
