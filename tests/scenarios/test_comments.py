"""`/ticket comment`: a comment through the unified API, over signed commands and the sandbox:
the exact request, once under retries, refused before any call where the tool takes none."""

from __future__ import annotations

from tests.conftest import JIRA_CHANNEL, LINEAR_CHANNEL
from tests.scenarios import payloads
from tests.scenarios.conftest import Harness, last


def comments_sent(harness: Harness) -> list[object]:
    return [r for r in harness.sandbox.state.calls("POST") if r.path == "/unified/ticketing/comments"]


async def test_a_comment_is_posted_once_with_mentions_as_the_tools_users(harness: Harness) -> None:
    ticket_id = harness.sandbox.state.profiles["sandbox-jira"].tickets["PROJ-42"]["id"]
    body = payloads.slash_command(
        'comment PROJ-42 "Deployed the fix, thanks <@U0ANA|ana>"', JIRA_CHANNEL, harness.slack.response_url()
    )
    response = await harness.post(body, "application/x-www-form-urlencoded")
    assert response.status_code == 200 and response.content == b""
    [sent] = comments_sent(harness)
    # As the account's comments meta says: the ticket as `ticket[id]`, the person as its author.
    assert dict(sent.query)["ticket[id]"] == ticket_id and "ticket_id" not in dict(sent.query)
    assert dict(sent.query)["integrated_account_id"] == "sandbox-jira"
    assert sent.body == {
        "body": "Deployed the fix, thanks @Ana Lima",
        "author": {"id": "ju0001", "type": "user"},
    }
    assert sent.headers.get("idempotency-key")
    said = last(harness.calls("response"))
    assert said["response_type"] == "in_channel"
    assert said["blocks"][0]["text"]["text"] == (
        "<@U0ANA> commented on *<https://acme.atlassian.net/browse/PROJ-42|PROJ-42>* in Jira: "
        "“Deployed the fix, thanks @Ana Lima”"
    )
    # Slack sends the command again (its retry): one comment in the tool still.
    await harness.post(body, "application/x-www-form-urlencoded")
    assert len(harness.sandbox.state.profiles["sandbox-jira"].comments[ticket_id]) == 1


async def test_a_tool_without_comments_is_refused_before_any_call(harness: Harness) -> None:
    await harness.command('comment ENG-7 "Looks good"', channel=LINEAR_CHANNEL)
    assert comments_sent(harness) == []
    said = last(harness.calls("response"))["text"]
    assert said.startswith("Linear does not take comments through the unified API (comments work in Jira")
    assert said.endswith("Nothing was sent.")


async def test_a_comment_without_text_or_on_an_unknown_ticket(harness: Harness) -> None:
    answer = await harness.command("comment PROJ-42")
    assert answer.json()["text"].startswith("Comment PROJ-42 needs the comment's text.")
    await harness.command('comment PROJ-9999 "hello"')
    assert comments_sent(harness) == []
    assert "PROJ-9999" in last(harness.calls("response"))["text"]


async def test_add_as_comment_takes_the_message_and_its_link_to_edit_before_sending(harness: Harness) -> None:
    from blocks import ids

    shortcut = payloads.message_action(
        {"text": "Deployed PROJ-42 to production"},
        channel=JIRA_CHANNEL,
        response_url=harness.slack.response_url(),
    )
    shortcut["callback_id"] = ids.COMMENT_SHORTCUT
    await harness.interact(shortcut)
    view = last(harness.calls("views.open"))["view"]
    ticket, text = (b["element"].get("initial_value") for b in view["blocks"])
    assert ticket == "PROJ-42"
    assert text == (
        "Deployed PROJ-42 to production\n\n— <@U0BRUNO> in Slack: "
        f"https://acme.slack.com/archives/{JIRA_CHANNEL}/p1732770000000200"
    )

    def submitted(ticket_text: str, comment: str) -> dict[str, object]:
        values = {
            ids.COMMENT_TICKET: {ids.SETTINGS_VALUE: {"type": "plain_text_input", "value": ticket_text}},
            ids.COMMENT_TEXT: {ids.SETTINGS_VALUE: {"type": "plain_text_input", "value": comment}},
        }
        return payloads.view_submission(view, values)

    wrong = await harness.interact(submitted("not a ticket!", "x"))
    assert wrong.json()["response_action"] == "errors" and ids.COMMENT_TICKET in wrong.json()["errors"]
    await harness.interact(submitted("PROJ-42", text.replace("production", "prod (eu)")))
    [sent] = comments_sent(harness)
    assert sent.body["body"] == (
        "Deployed PROJ-42 to prod (eu)\n\n— @Bruno Costa in Slack: "
        f"https://acme.slack.com/archives/{JIRA_CHANNEL}/p1732770000000200"
    )
    said = last(harness.calls("chat.postMessage"))
    assert said["channel"] == JIRA_CHANNEL and said["text"].startswith(
        "commented on PROJ-42: Deployed PROJ-42"
    )

    # A Linear ticket (its link, from a Jira channel): Linear takes no comments.
    refused = await harness.interact(submitted("https://linear.app/acme/issue/ENG-7", "hi"))
    assert refused.json()["errors"][ids.COMMENT_TICKET].startswith(
        "Linear takes no comments through the unified API"
    )
    assert len(comments_sent(harness)) == 1


async def test_the_ticket_is_named_as_the_accounts_comments_meta_says(harness: Harness) -> None:
    """An integration whose comments meta takes `ticket_id` (Truto's page: one does) and no
    author gets exactly that."""
    jira = harness.sandbox.state.profiles["sandbox-jira"]
    jira.comment_ticket_param, jira.comment_author = "ticket_id", False
    await harness.command('comment PROJ-42 "Looked into it"')
    [sent] = comments_sent(harness)
    assert dict(sent.query)["ticket_id"] == jira.tickets["PROJ-42"]["id"]
    assert "ticket[id]" not in dict(sent.query)
    assert sent.body == {"body": "Looked into it"}


async def test_without_a_comments_meta_the_ticket_is_an_object_and_no_author(harness: Harness) -> None:
    harness.sandbox.state.fail_next(status=404, method="GET", path_contains="/comments/meta/create")
    await harness.command('comment PROJ-42 "Looked into it"')
    [sent] = comments_sent(harness)
    assert (
        dict(sent.query)["ticket[id]"]
        == harness.sandbox.state.profiles["sandbox-jira"].tickets["PROJ-42"]["id"]
    )
    assert sent.body == {"body": "Looked into it"}
