""" "Sync thread" on a card (or its compact line) and "Unsync thread" in the thread: the thread
follows the ticket from then on (handlers/listeners/events/thread_replies.py, the job in
handlers/jobs/thread_sync.py), and says who synced it and who stopped it."""

from __future__ import annotations

import time
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids
from blocks.threads import synced_message, unsynced_message
from bot.domain.actors import Actor
from bot.domain.errors import Refused, UserInputError
from bot.domain.threads import ThreadLink
from handlers.jobs.thread_sync import store_of
from handlers.kit import texts
from handlers.kit.deps import deps_of
from handlers.kit.payloads import channel_of, dig, first_action, selected_value, user_of
from handlers.kit.surface import ack_only, guarded, tell_requester

NOT_HERE = (
    "A thread can follow a ticket in a channel only: share the card in a channel, then sync its thread."
)


def _where(body: dict[str, Any]) -> tuple[str, str]:
    """The channel and the thread the clicked message is in (its own, when it starts one)."""
    container = body.get("container") or {}
    if container.get("is_ephemeral") or not isinstance(container.get("message_ts"), str):
        raise UserInputError(NOT_HERE)
    channel = channel_of(body) or ""
    if not channel.startswith(("C", "G")):
        raise UserInputError(NOT_HERE)
    thread = dig(body, "message", "thread_ts") or container.get("thread_ts") or container["message_ts"]
    return channel, str(thread)


@guarded
async def sync_clicked(
    body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    deps = deps_of(context)
    action = first_action(body)
    target = deps.read_ticket_value(action.get("value") or selected_value(action))
    if target is None:
        raise UserInputError(texts.FORGED_BUTTON)
    account, ref = target
    channel, thread_ts = _where(body)
    user = user_of(body) or ""
    await deps.service.check_may_update(account, Actor(slack_user_id=user), channel)
    if not (await deps.service.abilities(account)).can_sync_threads:
        raise Refused(
            f"{account.display_tool} cannot keep a thread in sync through the unified API "
            "(its comments cannot be both created and listed)"
        )
    ticket = await deps.service.recent_ticket(account, ref)
    link = ThreadLink(
        channel=channel,
        thread_ts=thread_ts,
        account=account.name,
        integrated=account.integrated_account_id,
        ticket=ticket.id,
        ref=ticket.display_ref,
        synced_by=user,
        since=time.time(),
    )
    store = store_of(deps)
    if not await store.sync(link):
        synced = await store.of_thread(channel, thread_ts)
        about = synced.ref if synced is not None else "a ticket"
        await tell_requester(
            body, client, respond, f"This thread is already synced with {about}.", channel=channel
        )
        return
    url = ticket.web_url or account.ticket_url(ticket.display_ref)
    message = synced_message(
        user, ticket.display_ref, url, account.display_tool, deps.ticket_value(account, ticket.id)
    )
    await client.chat_postMessage(channel=channel, thread_ts=thread_ts, **message)


@guarded
async def unsync_clicked(
    body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    deps = deps_of(context)
    target = deps.read_ticket_value(first_action(body).get("value"))
    if target is None:
        raise UserInputError(texts.FORGED_BUTTON)
    account, _ = target
    channel, thread_ts = _where(body)
    user = user_of(body) or ""
    await deps.service.check_may_update(account, Actor(slack_user_id=user), channel)
    store = store_of(deps)
    synced = await store.of_thread(channel, thread_ts)
    if synced is None or synced.integrated != account.integrated_account_id:
        await tell_requester(
            body, client, respond, "This thread is not synced with a ticket.", channel=channel
        )
        return
    await store.unsync(channel, thread_ts)
    await client.chat_postMessage(
        channel=channel, thread_ts=thread_ts, **unsynced_message(user, synced.ref, account.display_tool)
    )


def register(app: AsyncApp) -> None:
    app.action(ids.SYNC_THREAD)(ack=ack_only, lazy=[sync_clicked])
    app.action(ids.SYNC_THREAD_MENU)(ack=ack_only, lazy=[sync_clicked])
    app.action(ids.UNSYNC_THREAD)(ack=ack_only, lazy=[unsync_clicked])
