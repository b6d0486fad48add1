"""Morning reminders (`/ticket remind due`): at 09:00 of each person's own time zone, one DM of
the open tickets assigned to them that are due within two days or overdue; nothing when there
are none. A clock in every worker process looks once a minute; each morning's reminder is sent
once, whichever process gets there first. The tickets are read as the Home tab's "My tickets"
are (through the person's own connection where they have one)."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks.home import MyTicket
from blocks.reminders import reminder_message
from bot.domain.subscriptions import last_due
from bot.store.reminders import ReminderStore
from handlers.jobs.digests import Workspace
from handlers.kit.deps import SlackDeps
from handlers.kit.my_tickets import read_mine

log = logging.getLogger(__name__)
MORNING = "09:00"
TICK_SECONDS = 60.0


def store_of(deps: SlackDeps) -> ReminderStore:
    return ReminderStore(deps.core.cache.backend)


async def forget(deps: SlackDeps, tenant: str) -> None:
    """The workspace uninstalled: nobody there is reminded any more."""
    await store_of(deps).forget_tenant(tenant)


async def send_due(deps: SlackDeps, workspace: Workspace, now: datetime | None = None) -> int:
    """Every reminder whose morning came and was not sent yet; how many were sent."""
    now = now or datetime.now(UTC)
    store = store_of(deps)
    sent = 0
    for person in await store.everyone():
        morning = last_due(MORNING, person.tz, now)
        if morning.timestamp() <= person.since:
            continue  # asked for after this morning's: from the next one
        made = await workspace(person.tenant or None)
        if made is None or not await store.first_for(person, morning.date().isoformat()):
            continue
        sent += await remind(made[0], made[1], person.user)
    return sent


async def remind(deps: SlackDeps, client: AsyncWebClient, user: str) -> int:
    account = deps.config.account(deps.config.default_account or "") or next(
        iter(deps.config.accounts.values()), None
    )
    if account is None:
        return 0
    mine = await read_mine(deps, user, account)
    soon = [MyTicket(**t) for t in mine.get("assigned") or [] if t.get("when")]
    if not soon:
        return 0
    text, blocks = reminder_message(account.display_tool, soon)
    try:
        await client.chat_postMessage(channel=user, text=text, blocks=blocks)
    except SlackApiError as exc:
        log.warning("a reminder to %s was not sent (%s)", user, exc.response.get("error"))
        return 0
    return 1


async def clock(deps: SlackDeps, workspace: Workspace, tick: float = TICK_SECONDS) -> None:
    """Until cancelled: the reminders that came due, once a minute."""
    while True:
        try:
            await send_due(deps, workspace)
        except Exception:  # the next tick tries again (a morning's reminder is marked once sent)
            log.warning("reminders could not be sent this time", exc_info=True)
        await asyncio.sleep(tick)
