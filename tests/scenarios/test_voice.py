"""One voice: refusals end by saying nothing was sent, the ticket and the tool are named once,
and a cause is the true one. Exact words, over signed requests."""

from __future__ import annotations

from tests.scenarios.conftest import Harness, last


def said(harness: Harness) -> str:
    return str(last(harness.calls("response"))["text"])


async def test_a_mistake_in_the_command_ends_with_nothing_was_sent(harness: Harness) -> None:
    response = await harness.command("PROJ-42 prioity=high")
    text = response.json()["text"]
    assert text.startswith("Unknown field 'prioity'; did you mean 'priority'?")
    assert text.endswith(" Nothing was sent.")
    assert harness.sandbox.state.calls() == []


async def test_a_refusal_after_the_ack_ends_with_nothing_was_sent(harness: Harness) -> None:
    await harness.command("PROJ-42 status=finished")
    text = said(harness)
    assert text.startswith(
        "Status: no status matches 'finished'; accepted: To Do, In Progress, In Review, Done."
    )
    assert text.endswith(". Nothing was sent.") and text.count("Nothing was sent") == 1
    assert harness.sandbox.state.calls("PATCH") == []


async def test_an_unknown_ticket_is_named_once(harness: Harness) -> None:
    await harness.command("PROJ-9999 status=done")
    assert said(harness) == "No PROJ-9999 in Jira."


async def test_a_user_slack_does_not_know_is_not_a_missing_email(harness: Harness) -> None:
    await harness.command("PROJ-42 assignee=<@U0GONE|gone>")
    text = said(harness)
    assert "Slack does not know the user <@U0GONE>" in text
    assert "no email on the Slack profile" not in text
    assert harness.sandbox.state.calls("PATCH") == []


async def test_an_unknown_field_suggests_only_fields_the_tool_takes(harness: Harness) -> None:
    from tests.conftest import LINEAR_CHANNEL

    await harness.command("ENG-7 priority=high", channel=LINEAR_CHANNEL)  # what Linear takes, learned
    response = await harness.command("ENG-7 deu=tomorrow", channel=LINEAR_CHANNEL)
    text = response.json()["text"]
    assert text.startswith("Unknown field 'deu'") and "did you mean 'due'" not in text
    hint = text.split("Fields: ", 1)[1]
    assert (
        hint == "title, status, priority, assignee, tags, team, collections, description, parent, "
        "cf.&lt;custom field&gt;. Nothing was sent."
    )  # no due: Linear refuses it
