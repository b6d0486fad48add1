"""Keys left under another namespace: found (for `ticketbot check`) and moved here (at start-up
for the namespace earlier versions derived, by `ticketbot namespace adopt` for any other).

A namespace change without this is silent: the Home tab's history and `ticketbot audit` start
empty while the old keys sit beside them. A move copies each key with its time to live (DUMP
and RESTORE, which also work between the slots of a Redis Cluster) unless the key already exists
here, then deletes the old one. Job streams are not moved: workers read an earlier stream until
it is empty (queue/stream.py), so a job an old process writes during a rolling upgrade still runs.
"""

from __future__ import annotations

import collections
import logging
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from bot.store import keys

log = logging.getLogger(__name__)

NOT_NAMESPACES = frozenset({"shared"})  # keys shared on purpose (API budgets)
SCAN_COUNT = 1000


def _namespace_of(key: str) -> str | None:
    """`ticketbot:<ns>:…` → ns; the job stream's hash-tagged `ticketbot:{<ns>:jobs}:…` → ns."""
    parts = key.split(":", 2)
    if len(parts) < 3 or parts[0] != keys.PREFIX:
        return None
    name = parts[1]
    if name.startswith("{"):
        name = name[1:]
    return None if name in NOT_NAMESPACES else name


async def survey(client: aioredis.Redis) -> dict[str, int]:
    """How many keys each namespace holds (the job streams' hash-tagged keys included)."""
    counts: collections.Counter[str] = collections.Counter()
    async for raw in client.scan_iter(match=f"{keys.PREFIX}:*", count=SCAN_COUNT):
        name = _namespace_of(raw.decode() if isinstance(raw, bytes) else str(raw))
        if name is not None:
            counts[name] += 1
    return dict(counts)


async def others(client: aioredis.Redis) -> dict[str, int]:
    """Namespaces other than this deployment's that hold keys (its earlier names included)."""
    return {name: n for name, n in (await survey(client)).items() if name != keys.current()}


async def adopt(client: aioredis.Redis, old: str) -> int:
    """Move the keys of namespace `old` into the current one; returns how many moved. Keys the
    current namespace already has are kept (its own are newer) and the old copies dropped."""
    new = keys.current()
    if old == new:
        return 0
    moved = 0
    prefix = f"{keys.PREFIX}:{old}:"
    async for raw in client.scan_iter(match=f"{prefix}*", count=SCAN_COUNT):
        name = raw.decode() if isinstance(raw, bytes) else str(raw)
        target = f"{keys.PREFIX}:{new}:{name[len(prefix) :]}"
        moved += await _move(client, name, target)
    return moved


async def _move(client: aioredis.Redis, source: str, target: str) -> int:
    dumped: Any = await client.dump(source)
    if dumped is None:  # expired meanwhile
        return 0
    ttl_ms = int(await client.pttl(source))
    try:
        await client.restore(target, max(0, ttl_ms), dumped)
    except ResponseError as exc:  # BUSYKEY: the current namespace has its own, newer value
        if "BUSYKEY" not in str(exc):
            raise
        await client.delete(source)
        return 0
    await client.delete(source)
    return 1


async def adopt_previous(client: aioredis.Redis) -> int:
    """At start-up: the keys of the namespaces this deployment had before are moved here, once
    (a marker spares later start-ups the scan; keys an old process writes after it are listed
    by `ticketbot check` and moved by `ticketbot namespace adopt`)."""
    moved = 0
    for old in keys.previous():
        marker = keys.key("adopted", old)
        if await client.exists(marker):
            continue
        count = await adopt(client, old)
        await client.set(marker, str(count))
        if count:
            log.warning(
                "moved %d keys from namespace %s to %s (the namespace changed)", count, old, keys.current()
            )
        moved += count
    return moved
