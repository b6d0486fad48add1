"""The one-time token store behind Retry, Undo and Preview: signed, single use, forged finds nothing."""

from __future__ import annotations

from bot.cache import Cache, MemoryBackend
from bot.signing import Signer
from handlers.tokens import OneTimeStore


async def test_a_payload_is_taken_once_and_a_forged_value_finds_nothing() -> None:
    store = OneTimeStore(Cache(MemoryBackend()), Signer("secret"), "retry", "j")
    value = await store.put({"ticket": "PROJ-42"}, ttl=60)
    assert (await store.find(value)) is not None  # looking leaves it in place
    held = await store.take(value)
    assert held is not None and held.value == {"ticket": "PROJ-42"}
    assert await store.take(value) is None  # a second click
    forged = Signer("another secret").sign({"j": held.token})
    assert await store.find(forged) is None
    other_kind = OneTimeStore(store.cache, store.signer, "undo", "u")
    assert await other_kind.find(await store.put({"x": 1}, ttl=60)) is None  # a Retry value is no Undo
