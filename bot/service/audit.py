"""The audit trail: who changed what, where, when. To the log, and to a capped Redis stream.

Memory budget: the stream keeps at most MAX_RECORDS records of at most MAX_RECORD_BYTES each
(values are shortened, and changes past the cap are summarised), so 100 MiB at the very worst;
a typical record is about 300 bytes. Each user's last PER_USER records are also kept in a list
of their own (for the Home tab: reading one person's recent updates never scans the stream),
for PER_USER_DAYS after their last update.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from bot.store import keys

log = logging.getLogger("ticketbot.audit")
MAX_RECORDS = 50_000
MAX_RECORD_BYTES = 2048
MAX_VALUE_CHARS = 120
PER_USER = 20
PER_USER_DAYS = 30
SCAN_AT_MOST = 2000  # records a read by user looks through when that user has no list yet


def _short(value: Any) -> Any:
    if isinstance(value, str) and len(value) > MAX_VALUE_CHARS:
        return value[: MAX_VALUE_CHARS - 1] + "…"
    return value


def capped(data: dict[str, Any]) -> dict[str, Any]:
    """The record within MAX_RECORD_BYTES: values shortened, then changes dropped from the end
    (the last entry says how many)."""
    data = {k: _short(v) for k, v in data.items()}
    changes = [{k: _short(v) for k, v in change.items()} for change in data.get("changes") or []]
    data["changes"] = changes
    dropped = 0
    while changes and len(json.dumps(data).encode()) > MAX_RECORD_BYTES:  # as stored (ASCII)
        changes.pop()
        dropped += 1
        data["changes"] = [*changes, {"field": "…", "before": "", "after": f"+{dropped} more"}]
    return data


@dataclass(frozen=True)
class AuditRecord:
    at: str
    user_id: str | None
    user_name: str | None
    channel: str | None
    account: str
    ticket: str
    changes: list[dict[str, str]] = field(default_factory=list)
    status: int = 200
    idempotency_key: str = ""
    tenant: str | None = None  # the workspace (distributed mode; "-" in one workspace)
    via: str = "shared"  # "personal": through the person's own connection to the tool

    @classmethod
    def now(cls, **fields: Any) -> AuditRecord:
        return cls(at=datetime.now(UTC).isoformat(timespec="seconds"), **fields)


class AuditTrail:
    def __init__(
        self, client: aioredis.Redis | None, *, maxlen: int = MAX_RECORDS, tenant: str = "-"
    ) -> None:
        self.client = client
        self.maxlen = maxlen
        self.tenant = tenant  # whose records this trail writes and reads (a person's list is per workspace)

    def for_tenant(self, tenant: str) -> AuditTrail:
        return AuditTrail(self.client, maxlen=self.maxlen, tenant=tenant)

    async def record(self, entry: AuditRecord) -> None:
        data = capped({**asdict(entry), "tenant": self.tenant})
        log.info("ticket updated", extra={"event": {"audit": data}})
        if self.client is None:
            return
        raw = json.dumps(data)
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.xadd(keys.key("audit"), {"r": raw}, maxlen=self.maxlen, approximate=True)
                if entry.user_id:
                    mine = _user_key(self.tenant, entry.user_id)
                    pipe.lpush(mine, raw)
                    pipe.ltrim(mine, 0, PER_USER - 1)
                    pipe.expire(mine, PER_USER_DAYS * 86400)
                await pipe.execute()
        except (RedisError, OSError):
            log.warning("audit record kept in the log only: Redis unavailable")

    async def recent_of(self, user: str, limit: int = 5) -> Sequence[AuditRecord]:
        """A user's newest records, from their own list (O(limit)); a user without one yet (their
        updates are older than the list) gets what the newest SCAN_AT_MOST records hold."""
        if self.client is None:
            return []
        rows = await self.client.lrange(_user_key(self.tenant, user), 0, max(0, limit - 1))
        if rows:
            return [AuditRecord(**json.loads(row)) for row in rows]
        return await self.read(user=user, limit=limit, scan_at_most=SCAN_AT_MOST)

    async def read(
        self,
        *,
        ticket: str | None = None,
        user: str | None = None,
        since_seconds: float | None = None,
        limit: int = 200,
        scan_at_most: int | None = None,
    ) -> Sequence[AuditRecord]:
        """Newest first; looking through at most `scan_at_most` records when given."""
        if self.client is None:
            return []
        low = f"{int((time.time() - since_seconds) * 1000)}-0" if since_seconds else "-"
        found: list[AuditRecord] = []
        high = "+"
        scanned = 0
        while len(found) < limit and (scan_at_most is None or scanned < scan_at_most):
            rows = await self.client.xrevrange(keys.key("audit"), max=high, min=low, count=500)
            if not rows:
                break
            scanned += len(rows)
            for _, fields in rows:
                raw = (fields or {}).get(b"r")
                if raw is None:
                    continue
                record = AuditRecord(**json.loads(raw))
                if (
                    (ticket is None or record.ticket == ticket)
                    and (user is None or record.user_id == user)
                    and (self.tenant == "-" or record.tenant == self.tenant)
                ):
                    found.append(record)
            last_id = rows[-1][0]
            # exclusive: continue below the last one read
            high = "(" + (last_id.decode() if isinstance(last_id, bytes) else str(last_id))
            if len(rows) < 500:
                break
        return found[:limit]


def _user_key(tenant: str, user: str) -> str:
    return keys.key("audit", "user", tenant, user)


async def forget_tenant(client: aioredis.Redis | None, tenant: str, *, batch: int = 1000) -> int:
    """A workspace's records deleted from the trail's stream (its people's lists go with the
    workspace's keys): how many."""
    if client is None:
        return 0
    deleted, low = 0, "-"
    while True:
        rows: list[Any] = await client.xrange(keys.key("audit"), min=low, max="+", count=batch) or []
        mine = [rid for rid, fields in rows if _tenant_of((fields or {}).get(b"r")) == tenant]
        if mine:
            deleted += int(await client.xdel(keys.key("audit"), *mine))
        if len(rows) < batch:
            return deleted
        last = rows[-1][0]
        low = "(" + (last.decode() if isinstance(last, bytes) else str(last))


def _tenant_of(raw: Any) -> str | None:
    try:
        tenant = json.loads(raw).get("tenant") if raw else None
    except ValueError:
        return None
    return tenant if isinstance(tenant, str) else None
