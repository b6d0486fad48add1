"""Synced threads over signed requests, the fake Slack and the sandbox: "Sync thread" on a card,
a reply that becomes exactly one comment, a tool's comment that appears once in the thread, no
echo either way, edits and deletions where the tool allows them, and "Unsync thread"."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from blocks import ids
from tests.conftest import JIRA_CHANNEL
from tests.scenarios.conftest import Harness, last

COMMENTS = "/unified/ticketing/comments"


def ticket_id(harness: Harness, key: str = "PROJ-42") -> str:
    return str(harness.sandbox.state.profiles["sandbox-jira"].tickets[key]["id"])


def buttons(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {e["action_id"]: e for b in blocks if b["type"] == "actions" for e in b["elements"]}


async def posted_card(harness: Harness) -> dict[str, Any]:
    await harness.command("update PROJ-42 priority=high")
    call = harness.calls("chat.postMessage")[-1]
    harness.reset_counts()
    return {**call.args, "ts": call.answer["ts"]}


def click(
    harness: Harness,
    action_id: str,
    value: str,
    ts: str,
    *,
    user: str = "U0ANA",
    thread_ts: str | None = None,
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": ts,
        "channel_id": JIRA_CHANNEL,
        "is_ephemeral": False,
    }
    message: dict[str, Any] = {"ts": ts, "type": "message"}
    if thread_ts:
        container["thread_ts"] = message["thread_ts"] = thread_ts
    return {
        "type": "block_actions",
        "team": {"id": "T0TEAM"},
        "user": {"id": user, "name": user.lower()},
        "api_app_id": "A0TICKETBOT",
        "container": container,
        "channel": {"id": JIRA_CHANNEL},
        "message": message,
        "trigger_id": "1.2.3",
        "response_url": harness.slack.response_url(),
        "actions": [
            {"action_id": action_id, "value": value, "type": "button", "action_ts": f"{time.time():.6f}"}
        ],
    }


def message_event(inner: dict[str, Any]) -> dict[str, Any]:
    return {
        "token": "x",
        "team_id": "T0TEAM",
        "api_app_id": "A0TICKETBOT",
        "event": {"type": "message", "channel": JIRA_CHANNEL, "channel_type": "channel", **inner},
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": "T0TEAM", "user_id": "UBOT", "is_bot": True}],
    }


def reply(thread_ts: str, text: str, *, ts: str | None = None, user: str = "U0BRUNO") -> dict[str, Any]:
    return message_event(
        {"user": user, "text": text, "ts": ts or f"{time.time():.6f}", "thread_ts": thread_ts}
    )


def comment_event(comment: dict[str, Any], action: str = "created", account: str = "sandbox-jira") -> bytes:
    envelope = {
        "id": f"evt_{uuid.uuid4().hex}",
        "event": f"record:{action}",
        "payload": {
            "integrated_account_id": account,
            "unified_model": "ticketing",
            "resource": "comments",
            "record": comment,
        },
        "environment_id": "env-1",
        "webhook_id": "wh-1",
        "created_at": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }
    return json.dumps(envelope).encode()


async def synced(harness: Harness) -> str:
    card = await posted_card(harness)
    await harness.interact(
        click(harness, ids.SYNC_THREAD, buttons(card["blocks"])[ids.SYNC_THREAD]["value"], card["ts"])
    )
    harness.reset_counts()
    return str(card["ts"])


def comments_created(harness: Harness) -> list[Any]:
    return [r for r in harness.sandbox.state.calls("POST") if r.path == COMMENTS]


async def test_a_card_offers_sync_and_the_thread_says_who_synced_it(harness: Harness) -> None:
    card = await posted_card(harness)
    offered = buttons(card["blocks"])
    assert offered[ids.SYNC_THREAD]["text"]["text"] == "Sync thread"
    await harness.interact(click(harness, ids.SYNC_THREAD, offered[ids.SYNC_THREAD]["value"], card["ts"]))
    [said] = harness.calls("chat.postMessage")
    assert said.args["channel"] == JIRA_CHANNEL and said.args["thread_ts"] == card["ts"]
    assert said.args["blocks"][0]["text"]["text"] == (
        "<@U0ANA> synced this thread with <https://acme.atlassian.net/browse/PROJ-42|PROJ-42>: replies here "
        "become comments in Jira, and comments made in Jira appear here."
    )
    assert buttons(said.args["blocks"])[ids.UNSYNC_THREAD]["text"]["text"] == "Unsync thread"
    # Clicked again: said privately, nothing posted twice.
    harness.reset_counts()
    await harness.interact(click(harness, ids.SYNC_THREAD, offered[ids.SYNC_THREAD]["value"], card["ts"]))
    assert harness.calls("chat.postMessage") == []
    assert "already synced with PROJ-42" in str([c.args for c in harness.slack.state.calls])


async def test_a_reply_becomes_exactly_one_comment_in_the_persons_words(harness: Harness) -> None:
    thread = await synced(harness)
    event = reply(thread, "Fixed in <https://ci.example/b/12|build 12>, thanks <@U0ANA> &amp; team")
    await harness.event(event)
    await harness.event(event, retry_num=1)  # Slack's retry of the same event
    [sent] = comments_created(harness)
    assert dict(sent.query)["ticket[id]"] == ticket_id(harness)
    # The workspace's account writes it: the person is named before their words.
    assert sent.body == {
        "body": "Bruno (in Slack): Fixed in build 12 (https://ci.example/b/12), thanks @Ana Lima & team"
    }
    assert sent.headers.get("idempotency-key")
    assert len(harness.sandbox.state.profiles["sandbox-jira"].comments[ticket_id(harness)]) == 1
    assert harness.calls("chat.postEphemeral") == []


async def test_messages_outside_synced_threads_and_the_bots_own_do_nothing(harness: Harness) -> None:
    thread = await synced(harness)
    await harness.event(reply("1700000000.000100", "an unsynced thread"))
    await harness.event(message_event({"user": "U0BRUNO", "text": "top level", "ts": f"{time.time():.6f}"}))
    bot_said = message_event(
        {
            "bot_id": "BBOT",
            "user": "UBOT",
            "text": "Ana in Jira: hi",
            "ts": f"{time.time():.6f}",
            "thread_ts": thread,
        }
    )
    await harness.event(bot_said)
    await harness.event(
        message_event({"subtype": "channel_join", "user": "U0BRUNO", "ts": "1.2", "thread_ts": thread})
    )
    assert comments_created(harness) == []
    assert harness.sandbox.state.calls() == []


async def test_a_tool_comment_appears_once_and_the_bots_own_comment_never_comes_back(
    harness: Harness,
) -> None:
    thread = await synced(harness)
    await harness.event(reply(thread, "On it"))
    ours = harness.sandbox.state.profiles["sandbox-jira"].comments[ticket_id(harness)][0]
    harness.reset_counts()
    # The tool announces the bot's own comment: not posted back to Slack.
    await harness.truto_event(comment_event(ours))
    assert harness.calls("chat.postMessage") == []

    written = {
        "id": "c900-x",
        "body": "Deployed to *staging* <script>",
        "ticket": {"id": ticket_id(harness)},
        "author": {"id": "ju0002", "name": "Carla Diaz"},
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 5)),
    }
    delivery = comment_event(written)
    await harness.truto_event(delivery)
    await harness.truto_event(comment_event(written))  # the same comment again (another delivery)
    [posted] = harness.calls("chat.postMessage")
    assert posted.args["channel"] == JIRA_CHANNEL and posted.args["thread_ts"] == thread
    assert (
        posted.args["blocks"][0]["text"]["text"]
        == "*Carla Diaz* in Jira: Deployed to *staging* &lt;script&gt;"
    )


async def test_edits_and_deletions_follow_where_the_tool_allows(harness: Harness) -> None:
    thread = await synced(harness)
    ts = f"{time.time():.6f}"
    await harness.event(reply(thread, "First words", ts=ts))
    [comment] = harness.sandbox.state.profiles["sandbox-jira"].comments[ticket_id(harness)]
    edited = message_event(
        {
            "subtype": "message_changed",
            "message": {
                "user": "U0BRUNO",
                "text": "Better words",
                "ts": ts,
                "thread_ts": thread,
                "edited": {"ts": "9.9"},
            },
            "previous_message": {"user": "U0BRUNO", "text": "First words", "ts": ts, "thread_ts": thread},
        }
    )
    await harness.event(edited)
    [patch] = [r for r in harness.sandbox.state.calls("PATCH") if r.path.startswith(COMMENTS)]
    assert patch.path == f"{COMMENTS}/{comment['id']}" and patch.body == {
        "body": "Bruno (in Slack): Better words"
    }
    assert comment["body"] == "Bruno (in Slack): Better words"
    deleted = message_event(
        {
            "subtype": "message_deleted",
            "deleted_ts": ts,
            "previous_message": {"user": "U0BRUNO", "text": "Better words", "ts": ts, "thread_ts": thread},
        }
    )
    await harness.event(deleted)
    [gone] = harness.sandbox.state.calls("DELETE")
    assert gone.path == f"{COMMENTS}/{comment['id']}"
    assert harness.sandbox.state.profiles["sandbox-jira"].comments[ticket_id(harness)] == []


async def test_where_the_tool_keeps_comments_as_written_the_person_is_told(harness: Harness) -> None:
    jira = harness.sandbox.state.profiles["sandbox-jira"]
    jira.comment_methods = ("list", "get", "create")
    thread = await synced(harness)
    ts = f"{time.time():.6f}"
    await harness.event(reply(thread, "First words", ts=ts))
    edited = message_event(
        {
            "subtype": "message_changed",
            "message": {"user": "U0BRUNO", "text": "Other words", "ts": ts, "thread_ts": thread},
            "previous_message": {"user": "U0BRUNO", "text": "First words", "ts": ts, "thread_ts": thread},
        }
    )
    await harness.event(edited)
    assert [r for r in harness.sandbox.state.calls("PATCH") if r.path.startswith(COMMENTS)] == []
    [note] = harness.calls("chat.postEphemeral")
    assert note.args["user"] == "U0BRUNO" and note.args["thread_ts"] == thread
    assert (
        note.args["text"]
        == "Edits are not synced to Jira: the comment on PROJ-42 keeps what you first wrote."
    )


async def test_unsync_stops_it_and_says_who(harness: Harness) -> None:
    card = await posted_card(harness)
    thread = card["ts"]
    await harness.interact(
        click(harness, ids.SYNC_THREAD, buttons(card["blocks"])[ids.SYNC_THREAD]["value"], thread)
    )
    notice = harness.calls("chat.postMessage")[-1]
    unsync = buttons(notice.args["blocks"])[ids.UNSYNC_THREAD]["value"]
    harness.reset_counts()
    # The notice's Unsync button, clicked in the thread by someone else who may update the ticket.
    await harness.interact(
        click(harness, ids.UNSYNC_THREAD, unsync, notice.answer["ts"], user="U0BRUNO", thread_ts=thread)
    )
    [said] = harness.calls("chat.postMessage")
    assert said.args["thread_ts"] == thread
    assert said.args["text"].startswith("<@U0BRUNO> stopped syncing this thread with PROJ-42")
    harness.reset_counts()
    await harness.event(reply(thread, "after"))
    assert comments_created(harness) == []


async def test_a_long_reply_is_answered_and_nothing_is_sent(harness: Harness) -> None:
    thread = await synced(harness)
    await harness.event(reply(thread, "x" * 3200))
    assert comments_created(harness) == []
    [note] = harness.calls("chat.postEphemeral")
    assert note.args["text"].startswith(
        "Your reply was not added to PROJ-42 in Jira: That reply is 3,218 characters"
    )


async def test_a_tool_without_comment_list_offers_no_sync(harness: Harness) -> None:
    harness.sandbox.state.profiles["sandbox-jira"].comment_methods = ("create",)
    card = await posted_card(harness)
    assert ids.SYNC_THREAD not in buttons(card["blocks"])


async def test_where_the_tool_sends_no_comment_events_a_ticket_change_reads_its_comments(
    harness: Harness,
) -> None:
    from tests.scenarios.payloads import record_event

    jira = harness.sandbox.state.profiles["sandbox-jira"]
    old = {
        "id": "c-old",
        "body": "Written before",
        "ticket": {"id": ticket_id(harness)},
        "created_at": "2026-01-01T00:00:00Z",
    }
    jira.comments[ticket_id(harness)] = [old]
    thread = await synced(harness)
    await harness.event(reply(thread, "From Slack"))
    new = {
        "id": "c-new",
        "body": "Written in Jira",
        "ticket": {"id": ticket_id(harness)},
        "author": {"name": "Carla Diaz"},
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 5)),
    }
    jira.comments[ticket_id(harness)].append(new)
    harness.reset_counts()
    await harness.truto_event(record_event("updated", ticket_id(harness)))
    listed = [r for r in harness.sandbox.state.calls("GET") if r.path == COMMENTS]
    assert len(listed) == 1 and dict(listed[0].query)["ticket[id]"] == ticket_id(harness)
    # Only the comment written in the tool since the thread was synced; not the bot's own.
    [posted] = [c for c in harness.calls("chat.postMessage") if c.args.get("thread_ts") == thread]
    assert posted.args["blocks"][0]["text"]["text"] == "*Carla Diaz* in Jira: Written in Jira"
    harness.reset_counts()
    await harness.truto_event(record_event("updated", ticket_id(harness)))
    assert [c for c in harness.calls("chat.postMessage") if c.args.get("thread_ts") == thread] == []

    # Once the tool is heard sending comment events, a ticket's change reads no comments.
    await harness.truto_event(comment_event({**new, "id": "c-evt", "body": "By event"}))
    harness.reset_counts()
    await harness.truto_event(record_event("updated", ticket_id(harness)))
    assert [r for r in harness.sandbox.state.calls("GET") if r.path == COMMENTS] == []


async def test_help_says_where_threads_sync_and_why_not(harness: Harness) -> None:
    from tests.conftest import LINEAR_CHANNEL

    await harness.command("help")
    jira_help = str(last(harness.calls("response"))["blocks"])
    assert "Threads: *Sync thread* on a card keeps its thread and Jira's comments together" in jira_help
    await harness.command("help", channel=LINEAR_CHANNEL)
    linear_help = str(last(harness.calls("response"))["blocks"])
    assert "Threads: cannot sync with Linear (its comments cannot be both created and listed" in linear_help


async def test_a_subscriptions_line_offers_sync_in_its_menu(harness: Harness) -> None:
    from tests.scenarios.payloads import record_event

    harness.slack.state.memberships["U0ANA"] = [JIRA_CHANNEL]
    await harness.command("subscribe priority=Highest")
    harness.sandbox.state.profiles["sandbox-jira"].tickets["PROJ-42"]["priority"] = {
        "id": "jp1",
        "name": "Highest",
    }
    harness.reset_counts()
    await harness.truto_event(record_event("updated", "PROJ-42"))
    [line] = [c for c in harness.calls("chat.postMessage") if c.args["channel"] == JIRA_CHANNEL]
    menu = line.args["blocks"][0]["accessory"]
    assert menu["type"] == "overflow" and menu["action_id"] == ids.SYNC_THREAD_MENU
    [option] = menu["options"]
    assert option["text"]["text"] == "Sync thread"
    payload = click(harness, ids.SYNC_THREAD_MENU, "", line.answer["ts"])
    payload["actions"][0] = {"action_id": ids.SYNC_THREAD_MENU, "type": "overflow", "selected_option": option}
    harness.reset_counts()
    await harness.interact(payload)
    [said] = harness.calls("chat.postMessage")
    assert said.args["thread_ts"] == line.answer["ts"] and "synced this thread with" in said.args[
        "text"
    ] + str(said.args["blocks"])
    await harness.event(reply(line.answer["ts"], "Looking into it"))
    assert len(comments_created(harness)) == 1


def tool_comment(harness: Harness, body: str, author: dict[str, Any], cid: str) -> dict[str, Any]:
    return {
        "id": cid,
        "body": body,
        "ticket": {"id": ticket_id(harness)},
        "author": author,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


CARLA = {"id": "ju0004", "name": "Carla Mendes"}


async def test_channels_subscribed_to_comments_hear_of_new_ones_once(harness: Harness) -> None:
    from tests.scenarios.payloads import record_event

    harness.slack.state.memberships["U0ANA"] = [JIRA_CHANNEL, "C0QUIET"]
    await harness.command("subscribe priority=Medium --events commented")
    await harness.command("subscribe priority=Medium", channel="C0QUIET")  # comments not asked for
    harness.reset_counts()
    comment = tool_comment(harness, "Repro steps attached,\nsee the log", CARLA, "c-77")
    assert (await harness.truto_event(comment_event(comment))).text == "queued"
    await harness.truto_event(comment_event(comment))  # delivered again
    [line] = harness.calls("chat.postMessage")
    assert line.args["channel"] == JIRA_CHANNEL
    assert line.args["blocks"][0]["text"]["text"] == (
        "*<https://acme.atlassian.net/browse/PROJ-42|PROJ-42>* Login fails with SSO: "
        "Carla Mendes commented “Repro steps attached, see the log” · in Jira"
    )
    harness.sandbox.state.profiles["sandbox-jira"].tickets["PROJ-42"]["priority"] = {
        "id": "jp1",
        "name": "Highest",
    }
    await harness.truto_event(record_event("updated", "PROJ-42"))  # the bot hears of the change
    harness.reset_counts()
    await harness.truto_event(comment_event(tool_comment(harness, "Another", CARLA, "c-78")))
    assert harness.calls("chat.postMessage") == []  # the ticket no longer matches the filter


async def test_people_hear_of_comments_on_their_tickets_and_mentions_never_their_own(
    harness: Harness,
) -> None:
    from tests.scenarios.payloads import slash_command

    harness.sandbox.state.profiles["sandbox-jira"].tickets["PROJ-42"]["assignees"] = [
        {"id": "ju0001", "name": "Ana Lima"}
    ]
    await harness.command("notify on")
    bruno = {"id": "U0BRUNO", "username": "bruno", "name": "bruno"}
    await harness.post(
        slash_command("notify on", JIRA_CHANNEL, harness.slack.response_url(), bruno),
        "application/x-www-form-urlencoded",
    )
    harness.reset_counts()
    await harness.truto_event(
        comment_event(tool_comment(harness, "Ping @Bruno Costa about the logs", CARLA, "c-80"))
    )
    told = {c.args["channel"]: c.args for c in harness.calls("chat.postMessage")}
    assert told["U0ANA"]["blocks"][0]["elements"][0]["text"] == "PROJ-42 has a new comment (assigned to you)"
    assert told["U0BRUNO"]["blocks"][0]["elements"][0]["text"] == "PROJ-42 has a comment that mentions you"
    assert (
        "Carla Mendes commented “Ping @Bruno Costa about the logs”"
        in told["U0ANA"]["blocks"][1]["text"]["text"]
    )
    harness.reset_counts()
    ana = {"id": "ju0001", "name": "Ana Lima", "email": "ana@acme.example"}
    await harness.truto_event(comment_event(tool_comment(harness, "I'll take it", ana, "c-81")))
    assert [c.args["channel"] for c in harness.calls("chat.postMessage")] == []  # her own comment


async def test_an_active_threads_comments_are_read_every_few_minutes_where_no_event_brings_them(
    harness: Harness,
) -> None:
    from handlers.jobs import thread_sync

    thread = await synced(harness)
    await harness.event(reply(thread, "Anyone?"))
    jira = harness.sandbox.state.profiles["sandbox-jira"]
    later = tool_comment(harness, "Yes, on it", CARLA, "c-poll")
    later["created_at"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 5))
    jira.comments[ticket_id(harness)].append(later)  # written in the tool; no event, no ticket change
    harness.reset_counts()
    deps, workspace = harness.bot.deps, harness.bot.workspace
    assert await thread_sync.poll_due(deps, workspace, now=time.time() + 60) == 0  # not yet due
    assert await thread_sync.poll_due(deps, workspace, now=time.time() + thread_sync.POLL_EVERY + 1) == 1
    [posted] = [c for c in harness.calls("chat.postMessage") if c.args.get("thread_ts") == thread]
    assert posted.args["blocks"][0]["text"]["text"] == "*Carla Mendes* in Jira: Yes, on it"
    listed = [r for r in harness.sandbox.state.calls("GET") if r.path == COMMENTS]
    assert len(listed) == 1
    # Idle past the active window: not read any more.
    idle = time.time() + thread_sync.ACTIVE_FOR + thread_sync.POLL_EVERY * 3
    assert await thread_sync.poll_due(deps, workspace, now=idle) == 0
