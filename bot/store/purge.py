"""A workspace's cached data deleted when it uninstalls: every key of this deployment that names
one of its integrated accounts (lookup lists, snapshots, cards, capabilities, audit markers)."""

from __future__ import annotations

import redis.asyncio as aioredis

from bot.store import keys

SCAN_COUNT = 1000


async def purge_accounts(client: aioredis.Redis | None, integrated_account_ids: list[str]) -> int:
    """How many keys were deleted. Integrated account ids are long and unique: a key holding one
    as a part is that account's."""
    if client is None or not integrated_account_ids:
        return 0
    deleted = 0
    base = keys.key("")
    for account in integrated_account_ids:
        safe = "".join(f"[{c}]" if c in "*?[]\\" else c for c in account)
        batch: list[str | bytes] = []
        async for key in client.scan_iter(match=f"{base}*{safe}*", count=SCAN_COUNT):
            batch.append(key)
            if len(batch) >= 500:
                deleted += int(await client.delete(*batch))
                batch.clear()
        if batch:
            deleted += int(await client.delete(*batch))
    return deleted
