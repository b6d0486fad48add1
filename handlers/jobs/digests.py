"""Digests (`/ticket subscribe … --digest daily 09:00`): instead of a line per change, the
tickets that matched since the last digest, in one message a day at that time of the subscriber's
time zone (their Slack profile's; UTC when Slack does not say).

A matching change is collected (the ticket's latest state replaces an earlier one); a clock
in every worker process looks at the digests once a minute and posts those that came due, each
once whichever process gets there first.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks.subscriptions import digest_message
from bot.domain.subscriptions import Subscription, last_due
from bot.store.subscriptions import SubscriptionStore
from handlers.kit.deps import SlackDeps

log = logging.getLogger(__name__)
TICK_SECONDS = 60.0

# The deps and Slack client of a digest's workspace (None: gone).
Workspace = Callable[[str | None], Awaitable[tuple[SlackDeps, AsyncWebClient] | None]]


async def post_due(deps: SlackDeps, workspace: Workspace, now: datetime | None = None) -> int:
    """Post every digest that came due and was not posted yet; how many were posted."""
    now = now or datetime.now(UTC)
    store = SubscriptionStore(deps.core.cache.backend)
    posted = 0
    for account, sub_id, tenant in await store.digests():
        sub = next((s for s in await store.of_account(account) if s.id == sub_id), None)
        if sub is None or sub.digest is None:
            await store.drop_digest(account, sub_id)
            continue
        due = last_due(sub.digest, sub.tz, now)
        if due.timestamp() <= sub.created_at or not await store.first_digest(sub, due):
            continue
        made = await workspace(tenant)
        if made is None:
            continue
        posted += await _post(made[1], store, sub, due)
    return posted


async def _post(client: AsyncWebClient, store: SubscriptionStore, sub: Subscription, due: datetime) -> int:
    lines = await store.collected(sub)
    if not lines:
        return 0
    text, blocks = digest_message(lines, sub.shown())
    try:
        await client.chat_postMessage(channel=sub.channel, text=text, blocks=blocks, unfurl_links=False)
    except SlackApiError as exc:
        log.warning("digest %s not posted in %s (%s)", sub.id, sub.channel, exc.response.get("error"))
        return 0
    await store.clear_collected(sub)
    return 1


async def clock(deps: SlackDeps, workspace: Workspace, tick: float = TICK_SECONDS) -> None:
    """Until cancelled: the due digests, once a minute."""
    while True:
        try:
            await post_due(deps, workspace)
        except Exception:  # the next tick tries again; what was collected is kept
            log.warning("digests could not be posted this time", exc_info=True)
        await asyncio.sleep(tick)
