"""Short-lived snapshots of tickets the bot has seen (a GET, a PATCH answer, a card).

They give before-values for the card and the audit without another GET.
"""

from __future__ import annotations

from bot.domain.accounts import Account
from bot.domain.models import Ticket
from bot.store.cache import Cache
from bot.store.keys import cache_key

BEFORE_KEPT_FOR = 3600.0  # an update's "before" outlives its redeliveries and takeovers


class Snapshots:
    def __init__(self, cache: Cache, *, ttl: float = 300.0) -> None:
        self.cache = cache
        self.ttl = ttl

    async def keep_before(self, account: Account, idempotency_key: str, ticket: Ticket) -> None:
        """The ticket as an update's first try found it: a later try of the same update (a
        takeover, a redelivery, Retry), whose PATCH the API replays, still says what changed."""
        key = cache_key(account, "before", idempotency_key)
        await self.cache.store(key, ticket.to_json(), ttl=BEFORE_KEPT_FOR, stale_for=0.0)

    async def before_of(self, account: Account, idempotency_key: str) -> Ticket | None:
        entry = await self.cache.backend.get(cache_key(account, "before", idempotency_key))
        return Ticket.model_validate(entry.value) if entry is not None else None

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
