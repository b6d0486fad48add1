"""The card registry: where each ticket's cards are, for how long, and how many."""

from __future__ import annotations

import pytest

from bot.domain.cards import RESPONSE_URL_SECONDS, Card, fingerprint
from bot.domain.models import Ticket
from bot.store.cache import Cache
from bot.store.card_registry import CardRegistry, OwnWrites


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def registry(cache: Cache, clock: Clock) -> CardRegistry:
    return CardRegistry(cache.backend, ttl=14 * 86400, cap=20, clock=clock)


def message(n: int) -> Card:
    return Card(kind="message", channel="C1", ts=f"1700000000.{n:06d}", shows="a")


async def test_cards_are_kept_per_ticket_and_account(registry: CardRegistry) -> None:
    await registry.add("ia-1", "42", message(1))
    await registry.add("ia-1", "42", message(1))  # the same message again: one entry
    await registry.add("ia-1", "43", message(2))
    await registry.add("ia-2", "42", message(3))
    assert [c.ts for c in await registry.cards("ia-1", "42")] == ["1700000000.000001"]


async def test_only_the_most_recent_cards_are_kept(registry: CardRegistry) -> None:
    for n in range(25):
        await registry.add("ia-1", "42", message(n))
    kept = await registry.cards("ia-1", "42")
    assert [c.ts for c in kept] == [f"1700000000.{n:06d}" for n in range(5, 25)]


async def test_cards_expire(registry: CardRegistry, clock: Clock) -> None:
    await registry.add("ia-1", "42", message(1))
    await registry.add(
        "ia-1", "42", Card(kind="response_url", response_url="https://hooks.slack.com/x", uses_left=4)
    )
    clock.now += RESPONSE_URL_SECONDS + 1  # a response_url works for 30 minutes
    assert [c.kind for c in await registry.cards("ia-1", "42")] == ["message"]
    clock.now += 14 * 86400
    assert await registry.cards("ia-1", "42") == []


async def test_settle_records_what_cards_show_and_drops_the_gone(registry: CardRegistry) -> None:
    url_card = Card(kind="response_url", response_url="https://hooks.slack.com/x", uses_left=1)
    await registry.add("ia-1", "42", message(1))
    await registry.add("ia-1", "42", message(2))
    await registry.add("ia-1", "42", url_card)
    first, second, by_url = await registry.cards("ia-1", "42")
    shown = {
        first.id: first.model_copy(update={"shows": "b"}),
        by_url.id: by_url.model_copy(update={"shows": "b", "uses_left": 0}),  # its last use
    }
    await registry.settle("ia-1", "42", shown, [second.id])
    [kept] = await registry.cards("ia-1", "42")
    assert (kept.ts, kept.shows) == (first.ts, "b")


async def test_forget(registry: CardRegistry) -> None:
    await registry.add("ia-1", "42", message(1))
    await registry.forget("ia-1", "42")
    assert await registry.cards("ia-1", "42") == []


async def test_own_writes_tell_the_bots_changes_from_others(cache: Cache) -> None:
    writes = OwnWrites(cache.backend)
    ticket = Ticket(
        id="42", name="Login", status={"id": "s1", "name": "Open"}, updated_at="2026-01-01T00:00:00Z"
    )
    await writes.note("ia-1", ticket)
    later = ticket.model_copy(update={"updated_at": "2026-01-02T00:00:00Z"})
    assert fingerprint(later) == fingerprint(ticket)  # the time of a change is not on a card
    assert await writes.made("ia-1", later)
    assert not await writes.made("ia-1", ticket.model_copy(update={"name": "Logout"}))


async def test_link_unfurls_cannot_push_out_the_cards_the_bot_posted(registry: CardRegistry) -> None:
    """Anyone can paste a ticket's link 50 times: before, 20 unfurls evicted the posted cards
    (which then stayed stale). Each kind keeps its own most recent."""
    for n in range(3):
        await registry.add("ia-1", "42", message(n))
    for n in range(50):
        unfurl = Card(kind="unfurl", channel="C2", ts=f"1700000001.{n:06d}", link="https://x/browse/PROJ-42")
        await registry.add("ia-1", "42", unfurl)
    cards = await registry.cards("ia-1", "42")
    assert [c.ts for c in cards if c.kind == "message"] == [message(n).ts for n in range(3)]
    assert len([c for c in cards if c.kind == "unfurl"]) == 20
