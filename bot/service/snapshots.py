"""Short-lived snapshots of tickets the bot has seen (a GET, a PATCH answer, a card).

They give before-values for the card and the audit without another GET.
"""

from __future__ import annotations

from bot.domain.accounts import Account
from bot.domain.models import Ticket
from bot.store.cache import Cache
from bot.store.keys import cache_key


class Snapshots:
    def __init__(self, cache: Cache, *, ttl: float = 300.0) -> None:
        self.cache = cache
        self.ttl = ttl

    async def get(self, account: Account, ticket_id: str) -> Ticket | None:
        entry = await self.cache.backend.get(cache_key(account, "ticket", ticket_id))
        if entry is None:
            return None
        return Ticket.model_validate(entry.value)

    async def put(self, account: Account, ticket: Ticket, *also_known_as: str) -> None:
        """Keep the ticket under its id, its number and any ref the user typed for it."""
        data = ticket.to_json()
        for name in {ticket.id, ticket.number, *also_known_as} - {None, ""}:
            await self.cache.store(cache_key(account, "ticket", str(name)), data, ttl=self.ttl, stale_for=0.0)
