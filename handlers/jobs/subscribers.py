"""Telling subscribed channels of a ticket's change (the worker's part of subscriptions): which
subscriptions match, one line per channel at Slack's pace, later changes in its thread, never twice."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks.subscriptions import ChangeLine, change_line
from bot.domain.accounts import Account
from bot.domain.cards import fingerprint
from bot.domain.models import Ticket
from bot.domain.refs import TicketRef
from bot.domain.subscriptions import (
    CHANGE_FIELDS,
    CHANGE_LABELS,
    Event,
    Subscription,
    changes_between,
    closed_now,
)
from bot.store.subscriptions import SubscriptionStore
from bot.truto.errors import TrutoError
from handlers.kit.deps import SlackDeps
from handlers.kit.identity import acting_account
from handlers.kit.job_data import JobData

POSTS_AT_ONCE = 8  # channels told of one change concurrently (each channel's lines stay in order)


SHOWN_WHEN_UNKNOWN = ("status", "priority", "assignees")  # a first sight says these, not a change


log = logging.getLogger(__name__)


def store_of(deps: SlackDeps) -> SubscriptionStore:
    return SubscriptionStore(deps.core.cache.backend)


async def has_subscriptions(deps: SlackDeps, account: str) -> bool:
    return bool(await store_of(deps).of_account(account))


async def note_own_update(deps: SlackDeps, account: Account, before: Ticket | None, listening: bool) -> None:
    """The state a change through the bot started from, so the line (or the DM) for its webhook
    event says from → to (the bot itself saw the ticket before changing it)."""
    if before is not None and (listening or await has_subscriptions(deps, account.integrated_account_id)):
        await store_of(deps).see(account.integrated_account_id, before)


def _event(data: JobData, before: Ticket | None, ticket: Ticket | None, changes: dict[str, Any]) -> Event:
    if data.event == "deleted" or ticket is None:
        return "deleted"
    if data.event == "created" and before is None:
        return "created"
    return "closed" if closed_now(before, ticket, changes) else "updated"


async def remembered(
    deps: SlackDeps, account: Account, ticket_id: str, ticket: Ticket | None
) -> Ticket | None:
    """The ticket as the bot last saw it; `ticket` (None: deleted) is kept as the next one's."""
    store = store_of(deps)
    before = await store.seen(account.integrated_account_id, ticket_id)
    if ticket is not None:
        await store.see(account.integrated_account_id, ticket)
    return before


async def tell_subscribers(
    deps: SlackDeps,
    client: AsyncWebClient,
    data: JobData,
    account: Account,
    ticket: Ticket | None,
    before: Ticket | None,
) -> None:
    """Tell each subscribed channel of this change (`ticket` after it, None: deleted; `before`:
    as the bot last saw it)."""
    store = store_of(deps)
    integrated = account.integrated_account_id
    subs = await store.of_account(integrated)
    if not subs:
        return
    changes = changes_between(before, ticket) if ticket is not None else {}
    event = _event(data, before, ticket, changes)
    if ticket is not None and before is not None and not changes and event == "updated":
        return  # nothing a line would name changed (an echo, a field nobody follows)
    origin = await deps.own_writes.origin(integrated, ticket) if ticket is not None else None
    state = fingerprint(ticket) if ticket is not None else "deleted"
    chosen: dict[str, Subscription] = {}  # one line per channel, its oldest matching subscription's
    for sub in subs:
        if sub.channel in chosen or not sub.matches(ticket, changes, event):
            continue
        if origin is not None and origin.get("channel") == sub.channel:
            continue  # made through the bot in this very channel: its card said so already
        chosen[sub.channel] = sub
    if account.identity == "personal-required" and ticket is not None:
        chosen = {c: s for c, s in chosen.items() if await _readable_by(deps, account, s, data.ticket)}
    at_once = asyncio.Semaphore(POSTS_AT_ONCE)
    change = _Change(account, data, ticket, before, changes, event, origin)

    async def tell_one(sub: Subscription) -> None:
        async with at_once:
            if not await store.first_telling(sub.channel, integrated, data.ticket, state):
                return
            if sub.digest:
                await store.collect(sub, data.ticket, change_line(_line(sub, change))[1][0]["text"]["text"])
            else:
                await _tell(deps, client, sub, change)

    await asyncio.gather(*(tell_one(sub) for sub in chosen.values()))


async def _readable_by(deps: SlackDeps, account: Account, sub: Subscription, ticket_id: str) -> bool:
    """Under `personal-required`, a subscription tells its channel only of what the person who
    made it can read with their own account (none: nothing); fails closed when the tool cannot say."""
    reader = await acting_account(deps, account, sub.created_by, reading=True)
    if reader.acting_as is None:
        return False
    try:
        await deps.service.fetch_ticket(reader, TicketRef(ticket_id))
    except TrutoError:
        return False
    return True


@dataclass(frozen=True)
class _Change:
    """One change of a ticket, as every subscribed channel is told of it."""

    account: Account
    data: JobData
    ticket: Ticket | None  # after it (None: deleted)
    before: Ticket | None  # as the bot last saw it
    changes: dict[str, tuple[str, str]]
    event: Event
    origin: dict[str, Any] | None  # the bot's own write of this state, and from where


def _line(sub: Subscription, change: _Change) -> ChangeLine:
    ticket, before, changes, data = change.ticket, change.before, change.changes, change.data
    named = changes
    if sub.fields:
        wanted = {CHANGE_FIELDS[w] for w in sub.fields}
        named = {f: c for f, c in changes.items() if f in wanted}
    shown_ticket = ticket or before
    return ChangeLine(
        ref=shown_ticket.display_ref if shown_ticket else data.ticket,
        url=shown_ticket.web_url if shown_ticket else None,
        title=(shown_ticket.name or "") if shown_ticket else "",
        event=change.event,
        changes=[(CHANGE_LABELS[f], old, new) for f, (old, new) in named.items()],
        tool=change.account.display_tool,
        by=change.origin.get("user") if change.origin else None,
        current=[(CHANGE_LABELS[f], ticket.display(f)) for f in SHOWN_WHEN_UNKNOWN]
        if ticket and not before
        else (),
    )


async def _sync_value(deps: SlackDeps, account: Account, channel: str, ticket: Ticket | None) -> str | None:
    """ "Sync thread" for a line in a channel that may change tickets, where the tool's comments
    can follow a thread."""
    if ticket is None or deps.config.read_only(channel):
        return None
    if not (await deps.service.abilities(account)).can_sync_threads:
        return None
    return deps.ticket_value(account, ticket.id)


async def _tell(deps: SlackDeps, client: AsyncWebClient, sub: Subscription, change: _Change) -> None:
    account, data, ticket, before = change.account, change.data, change.ticket, change.before
    text, blocks = change_line(_line(sub, change), await _sync_value(deps, account, sub.channel, ticket))
    seen = ticket or before
    ref = seen.display_ref if seen is not None else data.ticket
    await _deliver(deps, client, sub, account, data.ticket, ref, text, blocks, in_place=True)


async def tell_comment(
    deps: SlackDeps,
    client: AsyncWebClient,
    account: Account,
    ticket: Ticket,
    comment_id: str,
    said: tuple[str, str],
) -> None:
    """A new comment (`said`: its author and text), told to each channel subscribed with
    `--events commented` whose filter the ticket matches: a line of its own, never twice."""
    store = store_of(deps)
    integrated = account.integrated_account_id
    chosen: dict[str, Subscription] = {}
    for sub in await store.of_account(integrated):
        if sub.channel not in chosen and sub.matches(ticket, {}, "commented"):
            chosen[sub.channel] = sub
    if account.identity == "personal-required":
        chosen = {c: s for c, s in chosen.items() if await _readable_by(deps, account, s, ticket.id)}
    line = ChangeLine.commented(ticket, account.display_tool, said)
    text, blocks = change_line(line)
    for sub in chosen.values():
        if await store.first_telling(sub.channel, integrated, ticket.id, f"comment:{comment_id}"):
            await _deliver(
                deps, client, sub, account, ticket.id, ticket.display_ref, text, blocks, in_place=False
            )


async def _deliver(
    deps: SlackDeps,
    client: AsyncWebClient,
    sub: Subscription,
    account: Account,
    ticket_id: str,
    ref: str,
    text: str,
    blocks: list[dict[str, Any]],
    *,
    in_place: bool,
) -> None:
    """A line in the subscribed channel, in the ticket's thread once it has one (or in place of
    its line, `in_place`, where the subscription keeps one line per ticket), at Slack's pace."""
    store = store_of(deps)
    integrated = account.integrated_account_id
    thread = await store.thread(sub.channel, integrated, ticket_id)
    if thread and sub.thread == "off" and in_place:  # one line per ticket, kept up to date in place
        try:
            await client.chat_update(channel=sub.channel, ts=thread, text=text, blocks=blocks)
            return
        except SlackApiError as exc:  # the line is gone: a new one follows
            log.info(
                "subscription %s: its line of %s is gone (%s)", sub.id, ticket_id, exc.response.get("error")
            )
            thread = None
    message: dict[str, Any] = {"channel": sub.channel, "text": text, "blocks": blocks, "unfurl_links": False}
    if thread:
        message["thread_ts"] = thread
        if sub.thread == "broadcast":
            message["reply_broadcast"] = True

    async def post() -> None:
        try:
            answer = await client.chat_postMessage(**message)
        except SlackApiError as exc:  # after the client's own retries (429 Retry-After, 5xx)
            log.warning(
                "subscription %s: a change of %s was not posted in %s (%s)",
                sub.id,
                ticket_id,
                sub.channel,
                exc.response.get("error"),
            )
            return
        if not thread and answer.get("ts"):
            await store.keep_thread(sub.channel, integrated, ticket_id, str(answer["ts"]))

    async def summary(refs: list[str]) -> None:
        shown = ", ".join(dict.fromkeys(refs[:20])) + ("…" if len(set(refs)) > 20 else "")
        said = f"{len(refs)} more changes in the last minute: {shown} (each ticket's thread has the rest)"
        try:
            await client.chat_postMessage(channel=sub.channel, text=said)
        except SlackApiError as exc:
            log.warning("a backlog summary was not posted in %s (%s)", sub.channel, exc.response.get("error"))

    assert deps.pacer is not None  # set with the deps
    await deps.pacer.send(sub.channel, ref, post, summary)
