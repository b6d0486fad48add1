"""The one-time token store behind Retry, Undo and Preview: signed, single use, forged finds nothing."""

from __future__ import annotations

from bot.slack.signing import Signer
from bot.store.cache import Cache, MemoryBackend
from handlers.kit.signed_values import RetryToken, TicketButton, UndoToken, ViewMeta
from handlers.kit.tokens import OneTimeStore


async def test_a_payload_is_taken_once_and_a_forged_value_finds_nothing() -> None:
    store = OneTimeStore(Cache(MemoryBackend()), Signer("secret"), RetryToken)
    value = await store.put({"ticket": "PROJ-42"}, ttl=60)
    assert (await store.find(value)) is not None  # looking leaves it in place
    held = await store.take(value)
    assert held is not None and held.value == {"ticket": "PROJ-42"}
    assert await store.take(value) is None  # a second click
    forged = Signer("another secret").sign({"j": held.token})
    assert await store.find(forged) is None
    other_kind = OneTimeStore(store.cache, store.signer, UndoToken)
    assert await other_kind.find(await store.put({"x": 1}, ttl=60)) is None  # a Retry value is no Undo


def test_values_in_flight_keep_loading_under_their_short_keys() -> None:
    signer = Signer("secret")
    # As versions before the models signed them (a null channel included).
    old_form = signer.sign({"a": "jira", "t": "PROJ-42", "c": None, "u": "U0ANA", "i": "abc"})
    meta = ViewMeta.verify(signer, old_form)
    assert meta == ViewMeta(account="jira", ticket="PROJ-42", user="U0ANA", inputs="abc")
    assert meta is not None and meta.v == 1 and meta.refs == []
    button = TicketButton(account="jira", ticket="PROJ-42").sign(signer)
    assert signer.verify(button) == {"a": "jira", "t": "PROJ-42"}  # as short as before
    assert TicketButton.verify(signer, signer.sign({"a": "jira", "t": "PROJ-42"})) is not None
    assert TicketButton.verify(signer, signer.sign({"a": "jira"})) is None  # not a ticket button
    assert RetryToken.verify(signer, signer.sign({"j": "tok"})) == RetryToken(token="tok")
