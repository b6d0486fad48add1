"""Who turned personal notifications on (`/ticket notify on`), per workspace."""

from __future__ import annotations

import time

from bot.store import keys
from bot.store.cache import Backend, Entry

FOREVER = 10 * 365 * 86400.0


class NotifyStore:
    def __init__(self, backend: Backend, scope: str) -> None:
        self.backend = backend
        self.key = keys.key("notify", scope)

    async def users(self) -> list[str]:
        entry = await self.backend.get(self.key)
        return [str(u) for u in entry.value] if entry is not None and isinstance(entry.value, list) else []

    async def forget_all(self) -> None:
        """The workspace uninstalled: nobody there is notified any more."""
        await self.backend.delete(self.key)

    async def turn(self, user: str, on: bool) -> None:
        token = None
        for _ in range(50):
            token = await self.backend.try_lock(self.key + ":lock", 5.0)
            if token is not None:
                break
        try:
            users = [u for u in await self.users() if u != user] + ([user] if on else [])
            if users:
                await self.backend.set(self.key, Entry(users, fresh_until=time.time() + FOREVER), FOREVER)
            else:
                await self.backend.delete(self.key)
        finally:
            if token is not None:
                await self.backend.unlock(self.key + ":lock", token)
