"""Reading one ticket: a fresh GET (kept as a snapshot), or the snapshot when the bot saw the
ticket lately. Its own object, shared by a workspace's planner and resolver, so neither refers
back to the other: a workspace's wiring has no reference cycle, and a workspace dropped from the
bounded cache is freed at once instead of waiting for a full garbage collection (#41)."""

from __future__ import annotations

import re

from bot.domain.accounts import Account
from bot.domain.models import Ticket
from bot.domain.refs import TicketRef
from bot.service.snapshots import Snapshots
from bot.truto.client import TrutoClient
from bot.truto.errors import NotFound

_KEY_LIKE = re.compile(r"^[A-Za-z][A-Za-z0-9]*-\d+$")


class TicketReads:
    def __init__(self, client: TrutoClient, snapshots: Snapshots) -> None:
        self.client = client
        self.snapshots = snapshots

    async def fetch(self, account: Account, ref: TicketRef) -> Ticket:
        """A fresh GET; the answer is kept as a snapshot. A key typed in lower case (proj-42)
        that the tool does not know is tried once more in upper case."""
        try:
            try:
                ticket = await self.client.get_ticket(account, ref.id)
            except NotFound:
                upper = ref.id.upper()
                if upper == ref.id or not _KEY_LIKE.match(ref.id):
                    raise
                ticket = await self.client.get_ticket(account, upper)
        except NotFound as exc:
            # Name the ticket and the tool: "No PROJ-9999 in Jira".
            raise NotFound(
                exc.detail, status=404, user_message=f"No {ref.id} in {account.display_tool}."
            ) from None
        await self.snapshots.put(account, ticket, ref.id)
        return ticket

    async def recent(self, account: Account, ref: TicketRef) -> Ticket:
        """The snapshot when the bot saw the ticket lately, else a GET."""
        snapshot = await self.snapshots.get(account, ref.id)
        return snapshot if snapshot is not None else await self.fetch(account, ref)
