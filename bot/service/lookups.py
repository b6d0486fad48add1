"""Lookup lists per integrated account (statuses, priorities, users, tags, …), cached.

Keys are per deployment and account: `ticketbot:<namespace>:<integrated_account_id>:lookup:<resource>`
(bot/store/keys.py).
A list the integration does not have (404/405) is cached as absent for the TTL, so it is
not asked for again on every command.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from cachetools import LRUCache
from redis.exceptions import RedisError

from bot.domain.accounts import Account
from bot.domain.fields import LOOKUP_RESOURCES
from bot.domain.matching import Item, NameIndex
from bot.domain.packed import PackedItems
from bot.ops.memory import release_freed
from bot.ops.metrics import CACHE_EVENTS
from bot.store.cache import Cache
from bot.store.keys import cache_key
from bot.truto.client import ListInfo, TrutoClient
from bot.truto.errors import NotAllowed, NotFound

LARGE_LIST = 2000  # items; a longer list gets its search index built in a thread
PARTIAL_TTL = 60.0  # seconds a list the tool answered only in part is kept

# (one, many) for messages: "no status matches …", "matches several statuses: …".
RESOURCE_LABELS = {
    "ticket_status": ("status", "statuses"),
    "ticket_priorities": ("priority", "priorities"),
    "ticket_types": ("ticket type", "ticket types"),
    "users": ("user", "users"),
    "tags": ("tag", "tags"),
    "teams": ("team", "teams"),
    "workspaces": ("workspace", "workspaces"),
    "collections": ("collection", "collections"),
    "fields": ("field", "fields"),
}


@dataclass(frozen=True)
class LookupList:
    resource: str
    items: Sequence[Item] = field(default_factory=list)  # a long list is packed (bot/domain/packed.py)
    present: bool = True  # False: the integration has no such list

    @property
    def names(self) -> list[str]:
        return [str(item.get("name") or item.get("id")) for item in self.items]

    @cached_property
    def index(self) -> NameIndex:
        """Built once per copy of the list, for resolution and live selects."""
        return NameIndex(self.items, is_user=self.resource == "users")


def _indexed(found: LookupList) -> LookupList:
    found.index  # noqa: B018  (built now, in this thread)
    return found


def _packed(resource: str, items: list[Item], present: bool) -> LookupList:
    """A long list, packed, with its index built. The dicts are let go (the list emptied) before
    the index is built, so the index's strings fill the memory they held instead of new pages."""
    found = LookupList(resource, PackedItems(items), present)
    items.clear()
    return _indexed(found)


def _out_of_the_collector() -> None:
    """Keep a large list (100 000 containers for 50 000 users) out of the cyclic collector's
    full passes, each of which held every request for about 40 ms: young garbage is collected,
    and what lives now is frozen, as `serve` freezes what start-up built. The list is acyclic, so
    reference counting still frees it when a newer copy replaces it; only cyclic garbage already
    old at this moment is kept, once per change of a large list. The memory it was read through
    goes back to the system."""
    gc.collect(1)
    gc.freeze()
    release_freed()  # the pages and JSON text it was read from


def _slim(item: dict[str, Any]) -> Item:
    """Drop the raw provider payload: it is large and the bot never reads it."""
    return {k: v for k, v in item.items() if k != "remote_data"}


class Lookups:
    def __init__(
        self,
        client: TrutoClient,
        cache: Cache,
        *,
        ttl: float = 600.0,
        stale_for: float | None = None,
        page_limit: int = 100,
        local_ttl: float = 60.0,
        kept: int = 2_000,
    ) -> None:
        self.client = client
        self.cache = cache
        self.ttl = ttl
        self.stale_for = stale_for if stale_for is not None else ttl * 6
        self.page_limit = page_limit
        # Parsed lists (and their indexes) kept in the process for a while, so a live select
        # over 50 000 users neither reads nor parses them from Redis on every keystroke.
        self.local_ttl = min(ttl, local_ttl)
        # key → (until, list, the stored entry's stamp when it was read); at most `kept` lists,
        # the least recently used dropped first (50 000 workspaces' accounts do not all fit)
        self._local: LRUCache[str, tuple[float, LookupList, float | None]] = LRUCache(maxsize=kept)
        self._reloading: dict[str, asyncio.Task[LookupList]] = {}

    async def _fetch(self, account: Account, resource: str) -> dict[str, Any]:
        """Every page of the list. A long one is packed a page at a time (bot/domain/packed.py),
        so 50 000 users never live as dicts all at once, here or in the JSON stored."""
        info = ListInfo()
        items: list[Item] = []
        packed: list[PackedItems] = []
        try:
            async for item in self.client.list_all(account, resource, limit=self.page_limit, info=info):
                items.append(_slim(item))
                if len(items) >= LARGE_LIST:
                    packed.append(PackedItems(items))
                    items = []
        except (NotFound, NotAllowed):
            return {"present": False, "items": []}
        listed: Sequence[Item] = PackedItems.joined([*packed, PackedItems(items)]) if packed else items
        return {"present": True, "items": listed, "partial": info.partial}

    async def get(self, account: Account, resource: str) -> LookupList:
        if resource not in LOOKUP_RESOURCES:
            raise ValueError(f"unknown lookup resource {resource!r}")
        key = cache_key(account, "lookup", resource)
        local = self._local.get(key)
        if local is not None:
            CACHE_EVENTS.labels(resource, "hit").inc()
            if local[0] <= time.monotonic() and key not in self._reloading:
                # Serve this copy; a fresh one (from Redis, or the API) replaces it in the background.
                task = asyncio.get_running_loop().create_task(self._recheck(account, resource, key))
                self._reloading[key] = task
                task.add_done_callback(lambda _: self._reloading.pop(key, None))
            return local[1]
        return await self._load(account, resource, key)

    async def cached(self, account: Account, resource: str) -> LookupList | None:
        """The list if this process or the shared cache already holds it; never an API call
        (for the moments before a trigger_id expires)."""
        key = cache_key(account, "lookup", resource)
        local = self._local.get(key)
        if local is not None:
            return local[1]
        entry = await self.cache.backend.get(key)
        if entry is None:
            return None
        return LookupList(resource, entry.value["items"], entry.value["present"])

    async def _stamp(self, key: str) -> float | None:
        try:
            return await self.cache.backend.stamp(key)
        except (RedisError, OSError):
            return None

    async def _recheck(self, account: Account, resource: str, key: str) -> LookupList:
        """The copy here is kept while the stored list is the one it was parsed from (its stamp
        unchanged): parsing 50 000 users again and rebuilding their index every minute held the
        event loop (json's parser keeps the GIL) for nothing."""
        _, kept, stamp = self._local[key]
        if stamp is not None and await self._stamp(key) == stamp:
            self._local[key] = (time.monotonic() + self.local_ttl, kept, stamp)
            return kept
        return await self._load(account, resource, key)

    async def _load(self, account: Account, resource: str, key: str) -> LookupList:
        stamp = await self._stamp(key)  # before the read: a store in between makes it differ later
        data = await self.cache.get_or_fetch(
            key, lambda: self._fetch(account, resource), ttl=self.ttl, stale_for=self.stale_for
        )
        if data.get("partial"):
            # The tool answered part of the list: use it, but ask again soon rather than keep it.
            await self.cache.store(key, data, ttl=PARTIAL_TTL, stale_for=0.0)
        if stamp is None:  # nothing was stored: this load stored it (at worst a replica's twin)
            stamp = await self._stamp(key)
        if isinstance(data["items"], PackedItems):  # a long list, fetched or read packed
            found = await asyncio.to_thread(_indexed, LookupList(resource, data["items"], data["present"]))
            _out_of_the_collector()
        elif len(data["items"]) > LARGE_LIST:  # long, yet small enough to be read as dicts
            # A copy of the list (another request awaiting the same load shares `data`): once
            # `data` is let go, emptying the copy frees the dicts.
            items, present = list(data["items"]), data["present"]
            del data
            found = await asyncio.to_thread(_packed, resource, items, present)  # off the event loop
            _out_of_the_collector()
        else:
            found = LookupList(resource, data["items"], data["present"])
        self._local[key] = (time.monotonic() + self.local_ttl, found, stamp)
        return found

    async def drain(self) -> None:
        """Wait for background reloads (tests and shutdown)."""
        while self._reloading:
            await asyncio.gather(*list(self._reloading.values()), return_exceptions=True)

    async def refresh(
        self, account: Account, resources: Sequence[str] = LOOKUP_RESOURCES
    ) -> dict[str, LookupList]:
        """Fetch the lists now, whatever the cache holds."""
        refreshed = {}
        for resource in resources:
            data = await self.cache.refresh(
                cache_key(account, "lookup", resource),
                lambda resource=resource: self._fetch(account, resource),  # type: ignore[misc]
                ttl=self.ttl,
                stale_for=self.stale_for,
            )
            refreshed[resource] = LookupList(resource, data["items"], data["present"])
            if isinstance(data["items"], PackedItems):  # a long list: its index built off the loop
                await asyncio.to_thread(_indexed, refreshed[resource])
            self._local[cache_key(account, "lookup", resource)] = (
                time.monotonic() + self.local_ttl,
                refreshed[resource],
                None,  # read again at the next expiry
            )
        return refreshed

    async def resolve(self, account: Account, resource: str, text: str) -> Item:
        lookup = await self.get(account, resource)
        return lookup.index.resolve(text, RESOURCE_LABELS[resource])

    async def user_by_email(self, account: Account, email: str, *, who: str | None = None) -> Item:
        users = await self.get(account, "users")
        return users.index.by_email(email, who=who, tool=account.display_tool)
