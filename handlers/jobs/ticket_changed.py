"""Live cards: remember every card the bot puts in Slack, and bring a ticket's cards up to date
when the unified API says the ticket changed (a `refresh` job, queued by the webhook receiver).

One GET per ticket however many cards show it; a burst of events for one ticket within the
coalescing window is one job (the receiver's pending marker, cleared here just before the GET:
an event after that starts a new job, so the last change is never missed). A card that already
shows the fresh state (the echo of the bot's own update) costs no Slack call.

A card posted after a change is a record of it and stays one: its "who set what" and its Undo
(while the Undo can apply) are kept, and it gains the state after it ("· now Done, priority P0 ·
updated <time> in Jira"), naming the followed fields that changed since it was posted.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from blocks.messages import deleted_blocks
from bot.domain.accounts import Account
from bot.domain.cards import RESPONSE_URL_USES, Card, changed_since, fingerprint, glance
from bot.domain.models import Ticket
from bot.domain.refs import TicketRef
from bot.ops.metrics import LIVE_CARDS
from bot.truto.errors import NotFound
from handlers.jobs import notify_people, subscribers, thread_sync
from handlers.kit.card_view import card_message
from handlers.kit.deps import SlackDeps
from handlers.kit.job_data import JobData

log = logging.getLogger(__name__)

GONE = frozenset({"message_not_found", "channel_not_found", "is_archived", "cant_update_message"})


async def remember(deps: SlackDeps, account: Account, ticket: Ticket, card: Card) -> None:
    """Keep a card posted in Slack, so that later changes to its ticket reach it. Never fails
    the delivery it follows."""
    card = card.model_copy(
        update={"shows": fingerprint(ticket), "ref": ticket.display_ref, "seen": card.seen or glance(ticket)}
    )
    try:
        await deps.cards.add(account.integrated_account_id, ticket.id, card)
    except Exception:
        log.warning("could not remember the card (%s); it will not be kept up to date", card.where())


def posted(channel: str, ts: str | None, *, compact: bool = False) -> Card | None:
    return Card(kind="message", channel=channel, ts=ts, compact=compact) if ts else None


def through_response_url(
    url: str | None,
    *,
    used: int = 1,
    compact: bool = False,
    channel: str | None = None,
    shareable: bool = False,
) -> Card | None:
    if not url:
        return None
    return Card(
        kind="response_url",
        response_url=url,
        uses_left=RESPONSE_URL_USES - used,
        compact=compact,
        channel=channel,
        shareable=shareable,
    )


def unfurled(channel: str, ts: str, link: str) -> Card:
    return Card(kind="unfurl", channel=channel, ts=ts, link=link, interactive=False)


async def _send(client: AsyncWebClient, card: Card, message: dict[str, Any]) -> bool:
    """Replace the card in place; False when its message is gone (forget it)."""
    try:
        if card.kind == "message":
            await client.chat_update(channel=str(card.channel), ts=str(card.ts), **message)
        elif card.kind == "unfurl":
            await client.chat_unfurl(
                channel=str(card.channel),
                ts=str(card.ts),
                unfurls={str(card.link): {"blocks": message["blocks"]}},
            )
        else:
            response = await AsyncWebhookClient(str(card.response_url)).send_dict(
                {"replace_original": True, **message}
            )
            if response.status_code >= 400:  # expired or used up: Slack answers 404
                log.info("a card's response_url answered %s; forgotten", response.status_code)
                return False
    except SlackApiError as exc:
        if exc.response.get("error") in GONE:
            log.info("card %s is gone (%s); forgotten", card.where(), exc.response.get("error"))
            return False
        raise
    return True


@dataclass(frozen=True)
class Interest:
    """Who cares about a ticket's change: its cards, subscribed channels, people notified, the
    threads synced with it."""

    cards: list[Card]
    subscribed: bool
    notifying: bool
    threads: bool = False

    def __bool__(self) -> bool:
        return bool(self.cards or self.subscribed or self.notifying or self.threads)


async def interest_in(deps: SlackDeps, integrated: str, ticket: str) -> Interest:
    """Who cares, part by part: what the job acts on."""
    return Interest(
        await deps.cards.cards(integrated, ticket),
        await subscribers.has_subscriptions(deps, integrated),
        await notify_people.anyone(deps),
        bool(await thread_sync.threads_of(deps, integrated, ticket)),
    )


async def anyone_cares(deps: SlackDeps, integrated: str, ticket: str, scope: str | None = None) -> bool:
    """The same parts, asked by the webhook receiver until one answers yes (no job when nobody
    cares); `scope`: the workspace, when `deps` are not yet its own."""
    return bool(
        await deps.cards.cards(integrated, ticket)
        or await subscribers.has_subscriptions(deps, integrated)
        or await notify_people.anyone(deps, scope)
        or await thread_sync.threads_of(deps, integrated, ticket, scope)
    )


async def refresh(deps: SlackDeps, client: AsyncWebClient, data: JobData, account: Account) -> None:
    """Bring every card of the job's ticket up to date (or mark them deleted)."""
    if data.not_before is not None:
        wait = data.not_before - time.time()
        if wait > 0:
            await asyncio.sleep(min(wait, deps.config.settings.webhook_coalesce_seconds))
    integrated = account.integrated_account_id
    await deps.refresh_marks.refreshing(integrated, data.ticket, data.event or "")
    interest = await interest_in(deps, integrated, data.ticket)
    if not interest:
        return
    cards, subscribed, notifying = interest.cards, interest.subscribed, interest.notifying
    if data.event == "deleted":
        if cards:
            await _mark_deleted(deps, client, account, data.ticket, cards)
        if subscribed:
            before = await subscribers.remembered(deps, account, data.ticket, None)
            await subscribers.tell_subscribers(deps, client, data, account, None, before)
        return
    try:
        ticket = await deps.service.fetch_ticket(account, TicketRef(data.ticket))
    except NotFound:  # deleted since the event: the next event (record:deleted) says so
        log.info("ticket %s is gone; its cards are left as they are", data.ticket)
        return
    if cards:
        await _refresh_cards(deps, client, data, account, ticket, cards)
    if subscribed or notifying:
        before = await subscribers.remembered(deps, account, ticket.id, ticket)
        if subscribed:
            await subscribers.tell_subscribers(deps, client, data, account, ticket, before)
        if notifying:
            created = data.event == "created"
            await notify_people.notify_people(deps, client, account, before, ticket, created=created)
    if interest.threads and not await thread_sync.store_of(deps).comment_events_heard(integrated):
        await thread_sync.read_new_comments(deps, client, account, ticket.id)


async def _refresh_cards(
    deps: SlackDeps,
    client: AsyncWebClient,
    data: JobData,
    account: Account,
    ticket: Ticket,
    cards: list[Card],
) -> None:
    integrated = account.integrated_account_id
    state = fingerprint(ticket)
    stale = [c for c in cards if c.shows != state]
    if not stale:
        return
    from_slack = await deps.own_writes.made(integrated, ticket)
    when = datetime.fromtimestamp(data.changed_at, UTC) if data.changed_at else None
    updated_in = "Slack" if from_slack else account.display_tool
    messages: dict[tuple[Any, ...], dict[str, Any]] = {}
    shown: dict[str, Card] = {}
    gone: list[str] = []
    now = time.time()
    for card in stale:
        # A card keeps its record of the change it was posted for, and its Undo while that can apply.
        undo = card.undo_value if card.undo_value and now < card.undo_until else None
        since = tuple(changed_since(card.seen, ticket))
        if card.compact and card.said and (not since or _told_below(card, cards, ticket)):
            # A line that records one change says what followed only when a followed field moved
            # and no later line in its channel says so already (the echo of the bot's own
            # changes, a title edited elsewhere: no Slack call).
            shown[card.id] = card.model_copy(update={"shows": state})
            continue
        style = (
            card.interactive,
            card.compact,
            card.shareable,
            card.channel,
            card.said,
            since,
            undo,
            card.undo_deletes,
        )
        if style not in messages:
            messages[style] = await card_message(
                deps,
                account,
                ticket,
                interactive=card.interactive,
                updated_in=updated_in,
                updated_at=when,
                compact=card.compact,
                shareable=card.shareable,
                channel=card.channel,
                said=card.said,
                since=since,
                undo_value=undo,
                undo_deletes=card.undo_deletes,
            )
        if await _send_counted(client, card, messages[style], gone):
            uses = card.uses_left - 1 if card.kind == "response_url" else card.uses_left
            shown[card.id] = card.model_copy(update={"shows": state, "uses_left": uses})
    await deps.cards.settle(integrated, ticket.id, shown, gone)


def _told_below(card: Card, cards: list[Card], ticket: Ticket) -> bool:
    """A later line in the card's channel records the ticket's followed fields as they are now."""
    now = glance(ticket)
    return any(
        other.compact and other.said and other.channel == card.channel and other.added > card.added
        for other in cards
        if other.seen == now
    )


async def _send_counted(client: AsyncWebClient, card: Card, message: dict[str, Any], gone: list[str]) -> bool:
    try:
        sent = await _send(client, card, message)
    except Exception:
        log.warning("card %s could not be updated; kept for the next change", card.where(), exc_info=True)
        return False
    if not sent:
        gone.append(card.id)
        LIVE_CARDS.labels("dropped").inc()
        return False
    LIVE_CARDS.labels("updated").inc()
    return True


async def _mark_deleted(
    deps: SlackDeps, client: AsyncWebClient, account: Account, ticket_id: str, cards: list[Card]
) -> None:
    gone: list[str] = []
    for card in cards:
        ref = card.ref or ticket_id
        blocks = deleted_blocks(ref, account.display_tool)
        await _send_counted(client, card, {"text": f"{ref} was deleted.", "blocks": blocks}, gone)
    await deps.cards.forget(account.integrated_account_id, ticket_id)
