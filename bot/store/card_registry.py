"""Where each ticket's cards are in Slack, so that a change made anywhere can update them all.

One entry per ticket (under its account), a short list of cards, most recent last:
- `message`: a card the bot posted (channel, ts): replaced with chat.update;
- `response_url`: a card posted through a response_url (30 minutes, 5 uses, says Slack);
- `unfurl`: a link unfurled in a message (channel, ts, link): unfurled again.
Each card says which state of the ticket it shows (`shows`, a fingerprint), so an event that
changes nothing on it (the echo of the bot's own update) costs no Slack call. Cards expire
after `ttl` seconds and only the `cap` most recent are kept per ticket.

The list is read and written under a short lock (`locked_update`); a write that cannot take
the lock in time goes ahead without it (a lost registration costs one card its updates, never
a wrong update).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import ValidationError

from bot.domain.cards import RESPONSE_URL_SECONDS, Card, fingerprint
from bot.domain.models import Ticket
from bot.store import keys
from bot.store.cache import Backend, Entry, locked_update

log = logging.getLogger(__name__)


class CardRegistry:
    def __init__(
        self,
        backend: Backend,
        *,
        ttl: float = 14 * 86400.0,
        cap: int = 20,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.backend = backend
        self.ttl = ttl
        self.cap = cap
        self.clock = clock

    @staticmethod
    def _key(integrated_account_id: str, ticket_id: str) -> str:
        return keys.key("cards", integrated_account_id, ticket_id)

    async def cards(self, integrated_account_id: str, ticket_id: str) -> list[Card]:
        """The ticket's live cards, oldest first."""
        entry = await self.backend.get(self._key(integrated_account_id, ticket_id))
        return self._live(entry.value if entry is not None else [])

    def _live(self, raw: Any) -> list[Card]:
        now = self.clock()
        cards = []
        for item in raw if isinstance(raw, list) else []:
            try:
                card = Card.model_validate(item)
            except ValidationError:
                continue
            if card.until > now and (card.kind != "response_url" or card.uses_left > 0):
                cards.append(card)
        return cards

    async def add(self, integrated_account_id: str, ticket_id: str, card: Card) -> None:
        """Remember a card (replacing an entry for the same message or URL)."""
        now = self.clock()
        until = now + self.ttl
        if card.kind == "response_url":
            until = min(until, now + RESPONSE_URL_SECONDS)
        card = card.model_copy(update={"added": now, "until": card.until or until})

        def change(cards: list[Card]) -> list[Card]:
            # Each kind keeps its own `cap` most recent: a burst of link unfurls (anyone can paste
            # a link) never pushes out the cards the bot posted, nor the other way round.
            kept = [*(c for c in cards if c.id != card.id), card]
            by_kind: dict[str, list[Card]] = {}
            for each in kept:
                by_kind.setdefault(each.kind, []).append(each)
            recent = {c.id for group in by_kind.values() for c in group[-self.cap :]}
            return [c for c in kept if c.id in recent]

        await self._rewrite(integrated_account_id, ticket_id, change)

    async def settle(
        self, integrated_account_id: str, ticket_id: str, shown: dict[str, Card], dropped: Iterable[str]
    ) -> None:
        """After an update of the cards: what each card now shows (and uses left), and the cards
        whose message is gone."""
        gone = set(dropped)

        def change(cards: list[Card]) -> list[Card]:
            kept = []
            for card in cards:
                if card.id in gone:
                    continue
                now = shown.get(card.id)
                kept.append(
                    card.model_copy(update={"shows": now.shows, "uses_left": now.uses_left}) if now else card
                )
            return kept

        await self._rewrite(integrated_account_id, ticket_id, change)

    async def forget(self, integrated_account_id: str, ticket_id: str) -> None:
        await self.backend.delete(self._key(integrated_account_id, ticket_id))

    async def _rewrite(
        self, integrated_account_id: str, ticket_id: str, change: Callable[[list[Card]], list[Card]]
    ) -> None:
        def rewrite(raw: Any) -> tuple[Any, float]:
            cards = change(self._live(raw or []))
            if not cards:
                return None, 0.0
            keep_for = max(1.0, max(c.until for c in cards) - self.clock())
            return [c.model_dump(exclude_defaults=True) for c in cards], keep_for

        await locked_update(self.backend, self._key(integrated_account_id, ticket_id), rewrite)


class OwnWrites:
    """What the bot itself last wrote to each ticket (its fingerprint), so an event can tell a
    change made from Slack from one made in the tool."""

    def __init__(self, backend: Backend, ttl: float = 600.0) -> None:
        self.backend = backend
        self.ttl = ttl

    @staticmethod
    def _key(integrated_account_id: str, ticket_id: str) -> str:
        return keys.key("own-write", integrated_account_id, ticket_id)

    async def note(
        self, integrated_account_id: str, ticket: Ticket, channel: str | None = None, user: str | None = None
    ) -> None:
        """What the bot wrote, from which channel and for whom (subscriptions do not echo a
        change into the channel it was made from)."""
        value = {"shows": fingerprint(ticket), "channel": channel, "user": user}
        await self.backend.set(
            self._key(integrated_account_id, ticket.id),
            Entry(value, fresh_until=time.time() + self.ttl),
            self.ttl,
        )

    async def origin(self, integrated_account_id: str, ticket: Ticket) -> dict[str, Any] | None:
        """Where the bot's own write of this very state came from; None: not the bot's."""
        entry = await self.backend.get(self._key(integrated_account_id, ticket.id))
        if entry is None:
            return None
        value = (
            entry.value if isinstance(entry.value, dict) else {"shows": entry.value}
        )  # an earlier version's
        return value if value.get("shows") == fingerprint(ticket) else None

    async def made(self, integrated_account_id: str, ticket: Ticket) -> bool:
        return await self.origin(integrated_account_id, ticket) is not None


# An event id is remembered for as long as the event could be accepted (its created_at at most
# WEBHOOK_MAX_AGE_SECONDS, 5 minutes, away) and a margin: an older copy is refused as stale anyway.
SEEN_SECONDS = 15 * 60.0
PENDING_SECONDS = 30.0  # a pending marker outlives a crashed job by this much at most


class RefreshMarks:
    """What makes webhook deliveries cheap: each event id is handled once, and one refresh
    per ticket (and kind of change) is pending at a time; later events join it."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    @staticmethod
    def _pending(integrated_account_id: str, ticket_id: str, action: str) -> str:
        kind = "deleted" if action == "deleted" else "changed"
        return keys.key("cards-pending", integrated_account_id, ticket_id, kind)

    async def first_delivery(self, event_id: str) -> bool:
        return await self.backend.try_lock(keys.key("truto-event", event_id), SEEN_SECONDS) is not None

    async def start_refresh(self, integrated_account_id: str, ticket_id: str, action: str) -> bool:
        """False when a refresh of this ticket is already pending (the event joins it)."""
        pending = self._pending(integrated_account_id, ticket_id, action)
        return await self.backend.try_lock(pending, PENDING_SECONDS) is not None

    async def refreshing(self, integrated_account_id: str, ticket_id: str, action: str) -> None:
        """The refresh reads the ticket now: a later event needs a refresh of its own."""
        await self.backend.delete(self._pending(integrated_account_id, ticket_id, action))

    async def forget(self, event_id: str, integrated_account_id: str, ticket_id: str, action: str) -> None:
        """The delivery was not taken (busy): its retry is handled as new."""
        pending = self._pending(integrated_account_id, ticket_id, action)
        await self.backend.delete(keys.key("truto-event", event_id), pending)
