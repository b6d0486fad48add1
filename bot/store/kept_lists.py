"""`/ticket list` answers kept for their page turns: per workspace and person, a few minutes,
under a random token (a page turn reads nothing from the tool again)."""

from __future__ import annotations

import secrets
import time
from typing import Any

from bot.store import keys
from bot.store.cache import Backend, Entry

KEEP_SECONDS = 600.0


class KeptLists:
    def __init__(self, backend: Backend, scope: str) -> None:
        self.backend = backend
        self.scope = scope

    def _key(self, user: str, token: str) -> str:
        return keys.key(self.scope, "list", user, token)

    async def keep(self, user: str, found: dict[str, Any]) -> str:
        token = secrets.token_urlsafe(12)
        entry = Entry(found, fresh_until=time.time() + KEEP_SECONDS)
        await self.backend.set(self._key(user, token), entry, KEEP_SECONDS)
        return token

    async def keep_as(self, user: str, name: str, found: dict[str, Any], seconds: float) -> None:
        """Kept under a name of its own (the Home tab's tickets), `seconds` long."""
        await self.backend.set(
            self._key(user, name), Entry(found, fresh_until=time.time() + seconds), seconds
        )

    async def kept(self, user: str, token: str) -> dict[str, Any] | None:
        """What `user` was shown under `token`; None when it expired or is another person's."""
        entry = await self.backend.get(self._key(user, token))
        return entry.value if entry is not None and isinstance(entry.value, dict) else None

    async def forget(self, user: str, name: str) -> None:
        await self.backend.delete(self._key(user, name))
