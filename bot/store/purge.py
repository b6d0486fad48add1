"""A workspace's cached data deleted when it uninstalls: every key of this deployment that names
one of its integrated accounts (lookup lists, snapshots, cards, capabilities, subscriptions,
audit markers) or the workspace itself as a part (what Slack said of its people, their audit
lists, Undo / Retry / preview payloads, quota counters, the pending connection, bulk plans)."""

from __future__ import annotations

import redis.asyncio as aioredis

from bot.store import keys

SCAN_COUNT = 1000


def _literal(text: str) -> str:
    """`text` as a SCAN pattern matches it, and only it."""
    return "".join(f"[{c}]" if c in "*?[]\\" else c for c in text)


async def _delete_matching(client: aioredis.Redis, pattern: str) -> int:
    deleted = 0
    batch: list[str | bytes] = []
    async for key in client.scan_iter(match=pattern, count=SCAN_COUNT):
        batch.append(key)
        if len(batch) >= 500:
            deleted += int(await client.delete(*batch))
            batch.clear()
    if batch:
        deleted += int(await client.delete(*batch))
    return deleted


async def purge_tenant(client: aioredis.Redis | None, tenant: str) -> int:
    """Keys of this deployment with the workspace's tenant id as one of their parts (tenant ids,
    T… and E…, are unique): how many were deleted."""
    if client is None or not tenant:
        return 0
    deleted = 0
    safe = _literal(tenant)
    for base in dict.fromkeys((_literal(keys.key("")), _literal(keys.jobs_key("")))):
        for pattern in (f"{base}{safe}", f"{base}{safe}:*", f"{base}*:{safe}", f"{base}*:{safe}:*"):
            deleted += await _delete_matching(client, pattern)
    # Its state shared by the processes, under a hash tag (its change mark goes too: marks never
    # repeat, so a copy written late under the old one is never used).
    deleted += await _delete_matching(client, _literal(keys.workspace(tenant, "")) + "*")
    return deleted


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
