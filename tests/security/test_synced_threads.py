"""Synced threads under attack: a forged Sync button, an unsigned or forged message event, a
reply from someone who may not change the ticket, and a comment event naming another
workspace's account: none of them writes a comment or posts in a thread."""

from __future__ import annotations

import json
import time

from blocks import ids
from bot.domain.threads import ThreadLink
from bot.store.synced_threads import SyncedThreads
from tests.fleet import ACME, GLOBEX, connect, fleet, install
from tests.scenarios.conftest import Harness, harness
from tests.scenarios.payloads import sign
from tests.scenarios.test_synced_threads import (
    COMMENTS,
    buttons,
    click,
    comment_event,
    posted_card,
    reply,
    synced,
)

__all__ = ["fleet", "harness"]  # the fixtures


def comments_created(harness: Harness) -> list[object]:
    return [r for r in harness.sandbox.state.calls("POST") if r.path == COMMENTS]


async def test_a_forged_sync_button_syncs_nothing(harness: Harness) -> None:
    card = await posted_card(harness)
    value = buttons(card["blocks"])[ids.SYNC_THREAD]["value"]
    forged = value[:-2] + ("AA" if not value.endswith("AA") else "BB")
    await harness.interact(click(harness, ids.SYNC_THREAD, forged, card["ts"]))
    assert [c for c in harness.calls("chat.postMessage") if c.args.get("thread_ts")] == []
    assert "not valid any more" in str([c.args for c in harness.slack.state.calls])
    await harness.event(reply(card["ts"], "is anyone listening?"))
    assert comments_created(harness) == []


async def test_an_unsigned_or_forged_message_event_writes_no_comment(harness: Harness) -> None:
    thread = await synced(harness)
    body = json.dumps(reply(thread, "sneaky"))
    for headers in (
        {},
        {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "0" * 64},
        {**sign(body), "X-Slack-Signature": sign(body + " ")["X-Slack-Signature"]},
    ):
        response = await harness.http.post(
            "/slack/events", content=body, headers={"Content-Type": "application/json", **headers}
        )
        await harness.bot.worker.drain()
        assert response.status_code == 401
    assert comments_created(harness) == [] and harness.sandbox.state.calls() == []


async def test_a_reply_from_someone_who_may_not_update_is_refused(harness: Harness) -> None:
    thread = await synced(harness)
    harness.slack.state.guests["U0BRUNO"] = "restricted"  # a guest: refused by default
    await harness.event(reply(thread, "let me in"))
    assert comments_created(harness) == []
    [note] = harness.calls("chat.postEphemeral")
    assert note.args["user"] == "U0BRUNO" and note.args["text"].startswith(
        "Your reply was not added to PROJ-42"
    )


async def test_a_comment_event_for_another_workspaces_account_never_reaches_its_threads(
    fleet: Harness,
) -> None:
    for team in (ACME, GLOBEX):
        await install(fleet, team)
    acme_jira, globex_jira = await connect(fleet, ACME, "jira"), await connect(fleet, GLOBEX, "jira")
    ticket = str(fleet.sandbox.state.profiles[globex_jira].tickets["PROJ-42"]["id"])
    link = ThreadLink(
        "C0GENERAL", "1700000000.000100", "jira", globex_jira, ticket, "PROJ-42", "U0ADMIN", 0.0
    )
    assert await SyncedThreads(fleet.core.cache.backend, GLOBEX).sync(link)
    comment = {
        "id": "c1-x",
        "body": "from ACME's Jira",
        "ticket": {"id": ticket},
        "created_at": "2030-01-01T00:00:00Z",
    }
    fleet.reset_counts()
    response = await fleet.truto_event(comment_event(comment, account=acme_jira))
    assert response.text == "nobody follows its comments"
    assert fleet.slack.state.calls == []
    # The same comment on GLOBEX's own account reaches GLOBEX's thread, as GLOBEX's bot.
    response = await fleet.truto_event(comment_event(comment, account=globex_jira))
    assert response.text == "queued"
    [posted] = fleet.calls("chat.postMessage")
    assert posted.args["thread_ts"] == "1700000000.000100"
    assert posted.authorization.startswith(f"Bearer xoxb-{GLOBEX}-")
