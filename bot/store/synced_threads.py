"""Synced threads: which Slack thread follows which ticket, and what each side has already seen.

Per workspace (`scope`: its tenant, or "workspace" in single-workspace mode):
- a thread's link (`thread:<channel>:<ts>`): the account and ticket, who synced it and when;
- each ticket's threads (`<integrated account>:threads:<ticket>`), at most THREADS_PER_TICKET;
- a synced reply's comment (`reply:<channel>:<ts>`), so an edit or a deletion finds it.
Per account, so nothing loops:
- the comments the bot wrote (`<account>:comment-ours:<id>`, and by text before the id is known);
- the tool's comments already posted to Slack (`<account>:comment-posted:<id>`).
Everything expires KEEP_DAYS after the thread was last used; uninstalling purges it (its keys
name the workspace or its accounts).
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import asdict
from typing import Any

from bot.domain.threads import ThreadLink
from bot.store import keys
from bot.store.cache import Backend, Entry

KEEP_DAYS = 30
KEEP_SECONDS = KEEP_DAYS * 86400.0
THREADS_PER_TICKET = 20
MARK_SECONDS = 7 * 86400.0  # echo and posted marks: far longer than any event is late
LOCK_SECONDS = 5.0


def _digest(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()[:24]


class SyncedThreads:
    def __init__(self, backend: Backend, scope: str) -> None:
        self.backend = backend
        self.scope = scope

    def _thread_key(self, channel: str, thread_ts: str) -> str:
        return keys.key(self.scope, "thread", channel, thread_ts)

    @staticmethod
    def _ticket_key(integrated: str, ticket: str) -> str:
        return keys.key(integrated, "threads", ticket)

    async def of_thread(self, channel: str, thread_ts: str) -> ThreadLink | None:
        entry = await self.backend.get(self._thread_key(channel, thread_ts))
        if entry is None or not isinstance(entry.value, dict):
            return None
        try:
            return ThreadLink(**entry.value)
        except TypeError:
            return None

    async def of_ticket(self, integrated: str, ticket: str) -> list[ThreadLink]:
        entry = await self.backend.get(self._ticket_key(integrated, ticket))
        places = entry.value if entry is not None and isinstance(entry.value, list) else []
        found = [await self.of_thread(str(c), str(t)) for c, t in places]
        return [link for link in found if link is not None and link.ticket == ticket]

    async def sync(self, link: ThreadLink) -> bool:
        """False when the thread already follows a ticket (this one or another)."""
        if await self.of_thread(link.channel, link.thread_ts) is not None:
            return False
        await self._store(link)
        await self._index(link, add=True)
        return True

    async def unsync(self, channel: str, thread_ts: str) -> ThreadLink | None:
        link = await self.of_thread(channel, thread_ts)
        if link is None:
            return None
        await self.backend.delete(self._thread_key(channel, thread_ts))
        await self._index(link, add=False)
        return link

    async def touch(self, link: ThreadLink) -> None:
        """Used now: kept KEEP_DAYS from now."""
        await self._store(link)

    async def _store(self, link: ThreadLink) -> None:
        entry = Entry(asdict(link), fresh_until=time.time() + KEEP_SECONDS)
        await self.backend.set(self._thread_key(link.channel, link.thread_ts), entry, KEEP_SECONDS)

    async def _index(self, link: ThreadLink, *, add: bool) -> None:
        key = self._ticket_key(link.integrated, link.ticket)
        token = None
        for _ in range(50):
            token = await self.backend.try_lock(key + ":lock", LOCK_SECONDS)
            if token is not None:
                break
        try:
            entry = await self.backend.get(key)
            places = [
                list(p) for p in (entry.value if entry is not None and isinstance(entry.value, list) else [])
            ]
            places = [p for p in places if p != [link.channel, link.thread_ts]]
            if add:
                places = [*places, [link.channel, link.thread_ts]][-THREADS_PER_TICKET:]
            if places:
                await self.backend.set(
                    key, Entry(places, fresh_until=time.time() + KEEP_SECONDS), KEEP_SECONDS
                )
            else:
                await self.backend.delete(key)
        finally:
            if token is not None:
                await self.backend.unlock(key + ":lock", token)

    # -- replies and their comments ------------------------------------------------------

    async def remember_reply(self, channel: str, ts: str, comment_id: str) -> None:
        key = keys.key(self.scope, "reply", channel, ts)
        await self.backend.set(key, Entry(comment_id, fresh_until=time.time() + KEEP_SECONDS), KEEP_SECONDS)

    async def comment_of_reply(self, channel: str, ts: str) -> str | None:
        entry = await self.backend.get(keys.key(self.scope, "reply", channel, ts))
        return str(entry.value) if entry is not None and isinstance(entry.value, str) else None

    async def forget_reply(self, channel: str, ts: str) -> None:
        await self.backend.delete(keys.key(self.scope, "reply", channel, ts))

    # -- echoes ----------------------------------------------------------------------------

    async def writing(self, integrated: str, ticket: str, text: str) -> None:
        """The bot is about to write `text` on the ticket: its event must not come back."""
        await self._mark(keys.key(integrated, "comment-ours", ticket, _digest(text)))

    async def wrote(self, integrated: str, comment_id: str) -> None:
        await self._mark(keys.key(integrated, "comment-ours", comment_id))

    async def ours(self, integrated: str, ticket: str, comment_id: str, text: str) -> bool:
        """A comment the bot wrote (by its id, or by its text while the id was not yet known)."""
        for key in (
            keys.key(integrated, "comment-ours", comment_id),
            keys.key(integrated, "comment-ours", ticket, _digest(text)),
        ):
            if await self.backend.get(key) is not None:
                return True
        return False

    async def first_post(self, integrated: str, comment_id: str, channel: str, thread_ts: str) -> bool:
        """True once per comment and thread: an event and a read of the comments agree."""
        key = keys.key(integrated, "comment-posted", comment_id, channel, thread_ts)
        return await self.backend.try_lock(key, MARK_SECONDS) is not None

    async def hear_comment_events(self, integrated: str) -> None:
        """The account's tool sends comment events: its tickets' changes need no read of comments."""
        await self._mark(keys.key(integrated, "comment-events"), KEEP_SECONDS)

    async def comment_events_heard(self, integrated: str) -> bool:
        return await self.backend.get(keys.key(integrated, "comment-events")) is not None

    async def _mark(self, key: str, keep: float = MARK_SECONDS) -> None:
        await self.backend.set(key, Entry(1, fresh_until=time.time() + keep), keep)


class ActiveTickets:
    """The tickets whose synced threads were used lately, across the deployment (one clock reads
    them all): where the tool sends no comment events, their comments are read every few
    minutes while a thread is active. At most MOST_ACTIVE (the least recently active go first)."""

    MOST_ACTIVE = 2_000

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self.key = keys.key("threads-active")

    async def _entries(self) -> list[list[Any]]:
        entry = await self.backend.get(self.key)
        found = entry.value if entry is not None and isinstance(entry.value, list) else []
        return [e for e in found if isinstance(e, list) and len(e) == 5]

    async def _change(
        self, tenant: str, integrated: str, ticket: str, *, active: float | None, read: float | None
    ) -> None:
        lock = self.key + ":lock"
        token = None
        for _ in range(50):
            token = await self.backend.try_lock(lock, LOCK_SECONDS)
            if token is not None:
                break
        try:
            entries = await self._entries()
            mine = next((e for e in entries if e[:3] == [tenant, integrated, ticket]), None)
            if mine is None:
                if active is None:
                    return
                mine = [tenant, integrated, ticket, active, active]
                entries.append(mine)
            if active is not None:
                mine[3] = active
            if read is not None:
                mine[4] = read
            entries = sorted(entries, key=lambda e: float(e[3]))[-self.MOST_ACTIVE :]
            await self.backend.set(
                self.key, Entry(entries, fresh_until=time.time() + KEEP_SECONDS), KEEP_SECONDS
            )
        finally:
            if token is not None:
                await self.backend.unlock(lock, token)

    async def active(self, tenant: str, integrated: str, ticket: str, at: float | None = None) -> None:
        """A thread of this ticket was used (synced, replied in, a comment posted)."""
        await self._change(tenant, integrated, ticket, active=at or time.time(), read=None)

    async def was_read(self, tenant: str, integrated: str, ticket: str, at: float | None = None) -> None:
        await self._change(tenant, integrated, ticket, active=None, read=at or time.time())

    async def forget_tenant(self, tenant: str) -> None:
        """The workspace uninstalled: none of its tickets is read any more."""
        for entry in await self._entries():
            if entry[0] == tenant:
                await self._drop(entry[:3])

    async def _drop(self, which: list[Any]) -> None:
        lock = self.key + ":lock"
        token = await self.backend.try_lock(lock, LOCK_SECONDS)
        try:
            entries = [e for e in await self._entries() if e[:3] != which]
            await self.backend.set(
                self.key, Entry(entries, fresh_until=time.time() + KEEP_SECONDS), KEEP_SECONDS
            )
        finally:
            if token is not None:
                await self.backend.unlock(lock, token)

    async def due(self, now: float, every: float, window: float) -> list[tuple[str, str, str]]:
        """(tenant, integrated account, ticket) active within `window` and not read for `every`."""
        return [
            (str(e[0]), str(e[1]), str(e[2]))
            for e in await self._entries()
            if now - float(e[3]) <= window and now - float(e[4]) >= every
        ]
