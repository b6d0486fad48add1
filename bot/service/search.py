"""Finding tickets (`/ticket list`): the account's tickets read page by page through the unified
API (`GET /unified/ticketing/tickets`, `limit` and `next_cursor`), at most MAX_PAGES of them,
and the filter applied to what was read.

The filter is applied here rather than sent as query parameters: which list parameters each
integration takes, and in which form, is per integration (the list meta's query schema) and
the value formats are not documented, so no parameter is invented; every ticket read is
matched on what the unified ticket says. The pages count in the bulk share of the account's API
budget, so single updates sent meanwhile are not held back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from bot.domain.accounts import Account
from bot.domain.models import Ticket
from bot.domain.ticket_search import TicketFilter, newest_first
from bot.service.tickets import TicketService
from bot.truto.client import BULK, ListInfo

MAX_PAGES = 5
PAGE_SIZE = 100


@dataclass
class Found:
    tickets: list[Ticket] = field(default_factory=list)  # the matches, newest update first
    looked_at: int = 0  # tickets read
    cut: bool = False  # reading stopped at MAX_PAGES pages: the tool may have more
    partial: bool = False  # the API said a page may be incomplete


async def find_tickets(
    service: TicketService, account: Account, wanted: TicketFilter, today: date, *, max_pages: int = MAX_PAGES
) -> Found:
    found, info = Found(), ListInfo()
    most = max_pages * PAGE_SIZE
    bulk = BULK.set(True)
    try:
        async for item in service.client.list_all(account, "tickets", limit=PAGE_SIZE, info=info):
            found.looked_at += 1
            try:
                ticket = Ticket.model_validate(item)
            except ValueError:
                ticket = None  # not a ticket the unified model describes: nothing to show
            if ticket is not None and wanted.holds(ticket, today):
                found.tickets.append(ticket)
            if found.looked_at >= most:  # stop before the next page is asked for
                found.cut = True
                break
    finally:
        BULK.reset(bulk)
    found.partial = info.partial
    found.tickets = newest_first(found.tickets)
    return found
