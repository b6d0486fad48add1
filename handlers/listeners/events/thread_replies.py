"""Messages in synced threads (`message.channels`, `message.groups`): a person's reply becomes a
comment on the ticket, an edit or a deletion follows it where the tool allows. Each is a durable
job written before the ack, once under Slack's retries (the job's key is the message's own).

Not here: messages outside a synced thread (the thread's link is looked up and nothing more),
the bot's own messages and other apps' (they carry a bot id), and Slack's other subtypes
(joins, topic changes). Slack signs these events like any other; the edge checks that first.
"""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from handlers.jobs.thread_sync import store_of
from handlers.kit.deps import deps_of, idempotency_key
from handlers.kit.job_data import JobData
from handlers.kit.job_queue import enqueue
from handlers.kit.surface import ack_only, guarded

REPLY_SUBTYPES = (None, "thread_broadcast", "file_share")  # a person's message, also "sent to channel"


def thread_message(event: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """What happened ("reply", "edit", "delete") and to which message, for a person's message
    in a thread; None for anything else."""
    subtype = event.get("subtype")
    if subtype == "message_changed":
        kind, message = "edit", event.get("message") or {}
        if (message.get("text") or "") == ((event.get("previous_message") or {}).get("text") or ""):
            return None  # an unfurl or a reaction changed it, not its text
    elif subtype == "message_deleted":
        kind, message = "delete", event.get("previous_message") or {}
    elif subtype in REPLY_SUBTYPES:
        kind, message = "reply", event
    else:
        return None
    if not isinstance(message, dict) or message.get("bot_id") or message.get("subtype") == "bot_message":
        return None
    ts, thread_ts = message.get("ts"), message.get("thread_ts")
    if not (isinstance(ts, str) and isinstance(thread_ts, str) and ts != thread_ts and message.get("user")):
        return None
    return kind, message


@guarded
async def message_in_thread(body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext) -> None:
    event = body.get("event") or {}
    found = thread_message(event)
    channel = event.get("channel")
    if found is None or not isinstance(channel, str):
        return
    kind, message = found
    user = str(message["user"])
    if user == context.get("bot_user_id"):
        return
    deps = deps_of(context)
    link = await store_of(deps).of_thread(channel, message["thread_ts"])
    account = deps.config.account(link.account) if link is not None else None
    if link is None or account is None or account.integrated_account_id != link.integrated:
        return  # not a synced thread (or its account is gone)
    team = body.get("team_id")
    edited = (message.get("edited") or {}).get("ts")
    key = idempotency_key(team, channel, message["ts"], kind, edited)
    job = JobData.for_account(
        account,
        kind="thread",
        surface="thread",
        ticket=link.ticket,
        text=str(message.get("text") or "") if kind != "delete" else None,
        user=user,
        team=team,
        channel=channel,
        message_ts=message["ts"],
        thread_ts=link.thread_ts,
        event=kind,
        key=key,
    )
    await enqueue(deps, job, dedupe=key)


def register(app: AsyncApp) -> None:
    app.event("message")(ack=ack_only, lazy=[message_in_thread])
