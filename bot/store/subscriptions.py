"""Subscriptions, stored (one list per connected account, read once per webhook event), and what
delivering them needs to remember: each ticket's last seen state (to say what changed), the
message a ticket's changes thread under in each channel, and which change each channel was told.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import datetime
from typing import Any

from bot.domain.models import Ticket
from bot.domain.subscriptions import Subscription
from bot.store import keys
from bot.store.cache import Backend, Entry, LockBusy

FOREVER = 10 * 365 * 86400.0  # subscriptions are kept until removed
SEEN_SECONDS = 30 * 86400.0  # a ticket's last seen state, to say what changed since
THREAD_SECONDS = 30 * 86400.0  # a ticket's changes reply under its first line for this long
TOLD_SECONDS = 86400.0
LOCK_SECONDS = 5.0
DIGEST_SECONDS = 3 * 86400.0  # what waits for a digest is kept this long at most


class LimitReached(Exception):
    """The channel or the workspace has as many subscriptions as it may."""


def _subs_key(account: str) -> str:
    return keys.key("subs", account)


# Parsed lists by key, with the stamp of the stored entry they came from: each webhook event
# reads an account's subscriptions, and a list is parsed again only after it was written.
_parsed: dict[str, tuple[float, list[Subscription]]] = {}


class SubscriptionStore:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    async def of_account(self, account: str) -> list[Subscription]:
        """The account's subscriptions: one small read (the entry's stamp) when this process
        parsed the same list before."""
        key = _subs_key(account)
        stamp = await self.backend.stamp(key)
        if stamp is None:
            _parsed.pop(key, None)
            return []
        kept = _parsed.get(key)
        if kept is not None and kept[0] == stamp:
            return kept[1]
        subs = await self._read(account)
        _parsed[key] = (stamp, subs)
        return subs

    async def _read(self, account: str) -> list[Subscription]:
        entry = await self.backend.get(_subs_key(account))
        rows: list[dict[str, Any]] = (
            entry.value if entry is not None and isinstance(entry.value, list) else []
        )
        return [Subscription.model_validate(row) for row in rows]

    async def _write(self, account: str, subs: list[Subscription]) -> None:
        if not subs:
            await self.backend.delete(_subs_key(account))
            return
        rows = [s.model_dump(mode="json") for s in subs]
        # A stamp of its own for each write (the parsed copies of other processes go stale).
        stamp = time.time() + FOREVER + uuid.uuid4().int % 1000 / 1e6
        await self.backend.set(_subs_key(account), Entry(rows, fresh_until=stamp), FOREVER)

    async def _locked(self, account: str) -> str:
        for _ in range(50):
            token = await self.backend.try_lock(keys.key("subs-lock", account), LOCK_SECONDS)
            if token is not None:
                return token
            await asyncio.sleep(0.05)
        raise LockBusy(f"subscriptions of {account} are being changed")

    async def _fresh(self, account: str) -> list[Subscription]:
        """Read under the lock: what is stored now, never a parsed copy."""
        return await self._read(account)

    async def add(
        self, sub: Subscription, *, per_channel: int, per_workspace: int, workspace_accounts: list[str]
    ) -> None:
        """Kept, unless the channel or the workspace is at its limit (LimitReached)."""
        token = await self._locked(sub.account)
        try:
            mine = await self._fresh(sub.account)
            others = [s for a in workspace_accounts if a != sub.account for s in await self.of_account(a)]
            in_channel = [s for s in [*mine, *others] if s.channel == sub.channel]
            if len(in_channel) >= per_channel:
                raise LimitReached(f"this channel has {len(in_channel)} subscriptions, the most it may")
            if len(mine) + len(others) >= per_workspace:
                raise LimitReached(
                    f"this workspace has {len(mine) + len(others)} subscriptions, the most it may"
                )
            await self._write(sub.account, [*mine, sub])
            if sub.digest:
                await self._index_digest(sub.account, sub.id, sub.tenant, keep=True)
        finally:
            await self.backend.unlock(keys.key("subs-lock", sub.account), token)

    async def remove(self, sub: Subscription) -> None:
        token = await self._locked(sub.account)
        try:
            mine = await self._fresh(sub.account)
            await self._write(sub.account, [s for s in mine if s.id != sub.id])
            if sub.digest:
                await self._index_digest(sub.account, sub.id, sub.tenant, keep=False)
                await self.clear_collected(sub)
        finally:
            await self.backend.unlock(keys.key("subs-lock", sub.account), token)

    async def of_channel(self, channel: str, accounts: list[str]) -> list[Subscription]:
        """The channel's subscriptions, oldest first (as `/ticket subscriptions` numbers them)."""
        found = [s for a in accounts for s in await self.of_account(a) if s.channel == channel]
        return sorted(found, key=lambda s: (s.created_at, s.id))

    # -- digests -------------------------------------------------------------------------

    async def digests(self) -> list[tuple[str, str, str | None]]:
        """Every subscription with a digest: (account, subscription id, tenant)."""
        entry = await self.backend.get(keys.key("digests"))
        rows = entry.value if entry is not None and isinstance(entry.value, list) else []
        return [
            (str(r[0]), str(r[1]), r[2] if r[2] else None)
            for r in rows
            if isinstance(r, list) and len(r) == 3
        ]

    async def _index_digest(self, account: str, sub_id: str, tenant: str | None, *, keep: bool) -> None:
        token = await self._locked("digests")
        try:
            rows = [list(r) for r in await self.digests() if (r[0], r[1]) != (account, sub_id)]
            if keep:
                rows.append([account, sub_id, tenant])
            await self.backend.set(
                keys.key("digests"), Entry(rows, fresh_until=time.time() + FOREVER), FOREVER
            )
        finally:
            await self.backend.unlock(keys.key("subs-lock", "digests"), token)

    async def forget_digests_of(self, accounts: list[str]) -> None:
        """The digest index without these (uninstalled) accounts' subscriptions."""
        token = await self._locked("digests")
        try:
            rows = [list(r) for r in await self.digests() if r[0] not in accounts]
            await self.backend.set(
                keys.key("digests"), Entry(rows, fresh_until=time.time() + FOREVER), FOREVER
            )
        finally:
            await self.backend.unlock(keys.key("subs-lock", "digests"), token)

    async def drop_digest(self, account: str, sub_id: str) -> None:
        await self._index_digest(account, sub_id, None, keep=False)

    async def collect(self, sub: Subscription, ticket_id: str, line: str) -> None:
        """A matching change, kept for the next digest (a ticket's latest line replaces its earlier)."""
        key = keys.key("sub-digest", sub.account, sub.id)
        token = await self._locked(f"digest:{sub.id}")
        try:
            entry = await self.backend.get(key)
            lines = dict(entry.value) if entry is not None and isinstance(entry.value, dict) else {}
            lines.pop(ticket_id, None)
            lines[ticket_id] = line
            await self.backend.set(
                key, Entry(lines, fresh_until=time.time() + DIGEST_SECONDS), DIGEST_SECONDS
            )
        finally:
            await self.backend.unlock(keys.key("subs-lock", f"digest:{sub.id}"), token)

    async def collected(self, sub: Subscription) -> list[str]:
        entry = await self.backend.get(keys.key("sub-digest", sub.account, sub.id))
        return (
            [str(v) for v in entry.value.values()]
            if entry is not None and isinstance(entry.value, dict)
            else []
        )

    async def clear_collected(self, sub: Subscription) -> None:
        await self.backend.delete(keys.key("sub-digest", sub.account, sub.id))

    async def first_digest(self, sub: Subscription, due: datetime) -> bool:
        """True once for one digest's due time, whichever process asks first."""
        marker = keys.key("digest-sent", sub.id, due.isoformat())
        return await self.backend.try_lock(marker, 2 * 86400.0) is not None

    # -- delivery's memory ---------------------------------------------------------------

    async def seen(self, account: str, ticket_id: str) -> Ticket | None:
        entry = await self.backend.get(keys.key("sub-seen", account, ticket_id))
        if entry is None or not isinstance(entry.value, dict):
            return None
        return Ticket.model_validate(entry.value)

    async def see(self, account: str, ticket: Ticket) -> None:
        await self.backend.set(
            keys.key("sub-seen", account, ticket.id),
            Entry(ticket.to_json(), fresh_until=time.time() + SEEN_SECONDS),
            SEEN_SECONDS,
        )

    async def thread(self, channel: str, account: str, ticket_id: str) -> str | None:
        entry = await self.backend.get(keys.key("sub-thread", channel, account, ticket_id))
        return str(entry.value) if entry is not None and entry.value else None

    async def keep_thread(self, channel: str, account: str, ticket_id: str, ts: str) -> None:
        await self.backend.set(
            keys.key("sub-thread", channel, account, ticket_id),
            Entry(ts, fresh_until=time.time() + THREAD_SECONDS),
            THREAD_SECONDS,
        )

    async def first_telling(self, channel: str, account: str, ticket_id: str, state: str) -> bool:
        """True once per channel for one state of a ticket (a redelivered job tells nothing twice)."""
        marker = keys.key("sub-told", channel, account, ticket_id, state)
        return await self.backend.try_lock(marker, TOLD_SECONDS) is not None
