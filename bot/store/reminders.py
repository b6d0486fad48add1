"""Who asked for a morning reminder of their tickets due soon (`/ticket remind due`), across
every workspace of the deployment (one clock reads them all), with their time zone; and each
morning's reminder marked once sent."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

from bot.store import keys
from bot.store.cache import Backend, Entry

FOREVER = 10 * 365 * 86400.0
MOST = 20_000  # people reminded per deployment (one entry holds them all)
SENT_SECONDS = 3 * 86400.0


@dataclass(frozen=True)
class Reminded:
    tenant: str  # the workspace ("" in single-workspace mode)
    user: str
    tz: str  # their Slack profile's time zone
    since: float  # epoch seconds: no reminder for a morning before it


class ReminderStore:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.key = keys.key("reminders")

    async def everyone(self) -> list[Reminded]:
        entry = await self.backend.get(self.key)
        found = entry.value if entry is not None and isinstance(entry.value, list) else []
        people = []
        for item in found:
            try:
                people.append(Reminded(**item))
            except TypeError:
                continue
        return people

    async def turn(self, tenant: str, user: str, tz: str | None, on: bool) -> bool:
        """False when the deployment holds MOST already (nothing changed)."""
        lock = self.key + ":lock"
        token = None
        for _ in range(50):
            token = await self.backend.try_lock(lock, 5.0)
            if token is not None:
                break
        try:
            people = [p for p in await self.everyone() if (p.tenant, p.user) != (tenant, user)]
            if on:
                if len(people) >= MOST:
                    return False
                people.append(Reminded(tenant, user, tz or "UTC", time.time()))
            value = [asdict(p) for p in people]
            await self.backend.set(self.key, Entry(value, fresh_until=time.time() + FOREVER), FOREVER)
            return True
        finally:
            if token is not None:
                await self.backend.unlock(lock, token)

    async def forget_tenant(self, tenant: str) -> None:
        for person in await self.everyone():
            if person.tenant == tenant:
                await self.turn(tenant, person.user, None, on=False)

    async def first_for(self, person: Reminded, morning: str) -> bool:
        """True once per person and morning (whichever process's clock gets there first)."""
        marker = keys.key(person.tenant or "workspace", "reminded", person.user, morning)
        return await self.backend.try_lock(marker, SENT_SECONDS) is not None
