"""Payloads behind single-use buttons (Retry, Undo, Apply / Cancel of a preview).

The payload is kept in the shared cache under a random token; the button carries the token,
signed (bot/slack/signing.py), so a forged or altered value finds nothing. Taking a payload removes
it, so a second click (or a replay) finds nothing either. The signature is this project's own
HMAC signer rather than itsdangerous: the button values are already signed with it (values in
flight keep working), and it is 30 lines with no timestamp that Redis's expiry does not give.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from bot.slack.signing import Signer
from bot.store import keys
from bot.store.cache import Cache
from handlers.kit.signed_values import OneTimeToken

PREVIEW_VALID_FOR = 600.0  # seconds a preview can be applied
PREVIEW_KEPT_FOR = 3600.0  # seconds it is kept, to offer a fresh one after that


@dataclass(frozen=True)
class Held:
    token: str
    value: dict[str, Any]


@dataclass(frozen=True)
class OneTimeStore:
    cache: Cache
    signer: Signer
    token_type: type[OneTimeToken]  # what the button carries: RetryToken, UndoToken, PreviewToken
    scope: str = "-"  # the workspace (tenant) it belongs to: purged with it when it uninstalls

    @staticmethod
    def new_token() -> str:
        return uuid.uuid4().hex

    def _key(self, token: str, *more: str) -> str:
        return keys.key(self.token_type.kind, self.scope, token, *more)

    def _token(self, signed: str | None) -> str | None:
        value = self.token_type.verify(self.signer, signed)
        return value.token if value is not None else None

    async def put(self, value: dict[str, Any], ttl: float, token: str | None = None) -> str:
        """Keep `value` for `ttl` seconds; returns the signed button value."""
        token = token or self.new_token()
        await self.cache.store(self._key(token), value, ttl=ttl, stale_for=0.0)
        return self.token_type(token=token).sign(self.signer)

    async def find(self, signed: str | None) -> Held | None:
        """The payload behind a button value, left in place (None: forged, used, or expired)."""
        token = self._token(signed)
        if token is None:
            return None
        entry = await self.cache.backend.get(self._key(token))
        return Held(token, dict(entry.value)) if entry is not None else None

    async def discard(
        self, held: Held, used_by: dict[str, Any] | None = None, remember_for: float = 0
    ) -> None:
        """Remove the payload; with `used_by`, remember who used it (so a second click can be
        told what happened, not just that the button is gone)."""
        await self.cache.backend.delete(self._key(held.token))
        if used_by is not None and remember_for > 0:
            await self.cache.store(self._key(held.token, "used"), used_by, ttl=remember_for, stale_for=0.0)

    async def used(self, signed: str | None) -> dict[str, Any] | None:
        """Who used the payload behind a button value, when it was used and remembered."""
        token = self._token(signed)
        entry = await self.cache.backend.get(self._key(token, "used")) if token else None
        return dict(entry.value) if entry is not None else None

    async def take(self, signed: str | None) -> Held | None:
        """The payload, once: a second take finds nothing."""
        held = await self.find(signed)
        if held is not None:
            await self.discard(held)
        return held
