"""Link unfurls: a compact card for each ticket link (at most 5 per message)."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.accounts import Account
from bot.domain.models import Ticket
from bot.domain.refs import TicketRef, ref_from_url
from bot.store import ack_budget
from bot.store.keys import cache_key
from handlers.jobs import ticket_changed
from handlers.kit.card_view import card_message
from handlers.kit.deps import SlackDeps
from handlers.kit.identity import acting_account
from handlers.kit.surface import ack_only, user_message

log = logging.getLogger(__name__)
MAX_UNFURLS = 5


async def _first_delivery(deps: SlackDeps, body: dict[str, Any]) -> bool:
    """Slack retries events it thinks were missed; each event_id is handled once."""
    event_id = body.get("event_id")
    if not event_id:
        return True
    return await deps.first_time("event", str(event_id), 3600)


async def _ticket(deps: SlackDeps, account: Account, ref: TicketRef) -> Ticket:
    """The same ticket within the unfurl window comes from the cache, not the API."""
    key = cache_key(account, "unfurl", ref.id)

    async def fetch() -> dict[str, Any]:
        return (await deps.service.fetch_ticket(account, ref)).to_json()

    data = await deps.core.cache.get_or_fetch(key, fetch, ttl=deps.unfurl_ttl, stale_for=0.0)
    return Ticket.model_validate(data)


async def unfurl(body: dict[str, Any], client: AsyncWebClient, deps: SlackDeps) -> None:
    ack_budget.end()  # after the ack: not bound by its Redis budget
    event = body.get("event") or {}
    if not await _first_delivery(deps, body):
        log.info("event %s delivered again; already handled", body.get("event_id"))
        return
    channel_account = deps.config.account_for_channel(event.get("channel"))
    # Each link is read on the account whose links it matches (a Linear link in a Jira channel
    # unfurls from Linear); a link no account claims, on the channel's.
    wanted: dict[str, tuple[Account, TicketRef]] = {}
    for link in event.get("links") or []:
        url = str(link.get("url", ""))
        account = deps.config.account_for_url(url) or channel_account
        ref = ref_from_url(url, account.link_patterns) if account is not None else None
        if account is not None and ref is not None and len(wanted) < MAX_UNFURLS:
            wanted.setdefault(url, (account, ref))
    if not wanted:
        return
    # Read as the person who shared the link (their own account, where they have one): a ticket
    # their account may not see is not unfurled, and nothing of it is shown.
    sharer = event.get("user") if isinstance(event.get("user"), str) else None
    readers = [await acting_account(deps, account, sharer, reading=True) for account, _ in wanted.values()]
    results = await asyncio.gather(
        *(_ticket(deps, reader, ref) for reader, (_, ref) in zip(readers, wanted.values(), strict=True)),
        return_exceptions=True,
    )
    unfurls: dict[str, Any] = {}
    shown: dict[str, tuple[Account, Ticket]] = {}
    for (url, (account, _)), result in zip(wanted.items(), results, strict=True):
        if isinstance(result, BaseException):
            if user_message(result) is None:
                log.error("unfurl of %s failed", url, exc_info=result)
            continue
        card = await card_message(deps, account, result, interactive=False)
        unfurls[url] = {"blocks": card["blocks"]}
        shown[url] = (account, result)
    if not unfurls:
        return
    if event.get("unfurl_id"):  # a message being written: nothing to keep up to date yet
        await client.chat_unfurl(
            unfurl_id=event["unfurl_id"], source=event.get("source", "composer"), unfurls=unfurls
        )
        return
    await client.chat_unfurl(channel=event["channel"], ts=event["message_ts"], unfurls=unfurls)
    for url, (account, ticket) in shown.items():
        await ticket_changed.remember(
            deps, account, ticket, ticket_changed.unfurled(event["channel"], event["message_ts"], url)
        )


def register(app: AsyncApp) -> None:
    app.event("link_shared")(ack=ack_only, lazy=[unfurl])
