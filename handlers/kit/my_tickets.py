""" "My tickets" on the Home tab: the open tickets of the main tool assigned to the reader, then
those they created, soonest due first (overdue and due within two days marked), each with Show
card. Read through the reader's own connection where they have one, at most once a minute per
person (the tab shows the last read otherwise); a failure to read leaves the rest of the tab
as it is and says so."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

from blocks.home import MyTicket, MyTickets
from bot.domain.accounts import Account
from bot.domain.actors import Actor
from bot.domain.commands import UserValue
from bot.domain.errors import ResolveError, UserInputError
from bot.domain.models import Ticket
from bot.domain.subscriptions import ticket_ids
from bot.domain.ticket_search import TicketFilter, is_closed
from bot.service.search import find_tickets
from handlers.kit.deps import SlackDeps
from handlers.kit.identity import acting_account
from handlers.kit.surface import user_message

READ_EVERY = 60.0
SHOWN = 8  # of each kind
SOON = timedelta(days=2)
KEPT_AS = "home-mine"


def _due(ticket: Ticket) -> date | None:
    try:
        return date.fromisoformat((ticket.due_date or "")[:10])
    except ValueError:
        return None


def _order(ticket: Ticket) -> tuple[int, str, str]:
    due = _due(ticket)
    return (0 if due else 1, due.isoformat() if due else "", "~" + (ticket.updated_at or ""))


def _shown(deps: SlackDeps, account: Account, ticket: Ticket, today: date) -> dict[str, Any]:
    due = _due(ticket)
    when = "overdue" if due and due < today else "due soon" if due and due <= today + SOON else ""
    return {
        "ref": ticket.display_ref,
        "url": ticket.web_url,
        "title": ticket.name or "",
        "status": ticket.display("status"),
        "due": due.isoformat() if due else None,
        "when": when,
        "show_value": deps.ticket_value(account, ticket.id),
    }


async def read_mine(deps: SlackDeps, user: str, account: Account) -> dict[str, Any]:
    """The reader's open tickets as shown (assigned, created), or the problem in reading them."""
    actor = Actor(slack_user_id=user)
    try:
        me = await deps.service.resolver.user(account, UserValue("me", "me"), actor)
    except (ResolveError, UserInputError) as exc:
        return {"problem": f"Your tickets cannot be listed: {exc}"}
    mine = {v.casefold() for v in (me.id, me.name) if v}
    reader = await acting_account(deps, account, user, reading=True)
    today = datetime.now(UTC).date()
    found = await find_tickets(deps.service, reader, TicketFilter(), today)
    open_ones = sorted((t for t in found.tickets if not is_closed(t)), key=_order)
    assigned = [t for t in open_ones if {i.casefold() for i in ticket_ids(t, "assignees")} & mine]
    created = [
        t
        for t in open_ones
        if t not in assigned
        and t.created_by is not None
        and {v.casefold() for v in (t.created_by.id, t.created_by.name) if v} & mine
    ]
    return {
        "assigned": [_shown(deps, account, t, today) for t in assigned[:SHOWN]],
        "created": [_shown(deps, account, t, today) for t in created[:SHOWN]],
    }


async def my_tickets(deps: SlackDeps, user: str, account: Account | None) -> MyTickets | None:
    if account is None or not user:
        return None
    kept = await deps.kept_lists.kept(user, KEPT_AS)
    if kept is None:
        try:
            kept = await read_mine(deps, user, account)
        except Exception as exc:  # the rest of the tab is still published
            said = user_message(exc) or f"{account.display_tool} did not answer."
            return MyTickets(account.display_tool, (), (), f"{said} Open the tab again in a minute.")
        await deps.kept_lists.keep_as(user, KEPT_AS, kept, READ_EVERY)
    if kept.get("problem"):
        return MyTickets(account.display_tool, (), (), str(kept["problem"]))
    return MyTickets(
        account.display_tool,
        [MyTicket(**t) for t in kept.get("assigned") or []],
        [MyTicket(**t) for t in kept.get("created") or []],
    )
