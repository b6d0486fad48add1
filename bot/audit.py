"""The audit trail: who changed what, where, when. To the log, and to a capped Redis stream."""

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

log = logging.getLogger("ticketbot.audit")
STREAM = "ticketbot:v1:audit"


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

    @classmethod
    def now(cls, **fields: Any) -> AuditRecord:
        return cls(at=datetime.now(UTC).isoformat(timespec="seconds"), **fields)


class AuditTrail:
    def __init__(self, client: aioredis.Redis | None, *, maxlen: int = 100_000) -> None:
        self.client = client
        self.maxlen = maxlen

    async def record(self, entry: AuditRecord) -> None:
        data = asdict(entry)
        log.info("ticket updated", extra={"event": {"audit": data}})
        if self.client is None:
            return
        try:
            await self.client.xadd(STREAM, {"r": json.dumps(data)}, maxlen=self.maxlen, approximate=True)
        except (RedisError, OSError):
            log.warning("audit record kept in the log only: Redis unavailable")

    async def read(
        self,
        *,
        ticket: str | None = None,
        user: str | None = None,
        since_seconds: float | None = None,
        limit: int = 200,
    ) -> Sequence[AuditRecord]:
        """Newest first."""
        if self.client is None:
            return []
        low = f"{int((time.time() - since_seconds) * 1000)}-0" if since_seconds else "-"
        found: list[AuditRecord] = []
        high = "+"
        while len(found) < limit:
            rows = await self.client.xrevrange(STREAM, max=high, min=low, count=500)
            if not rows:
                break
            for _, fields in rows:
                raw = (fields or {}).get(b"r")
                if raw is None:
                    continue
                record = AuditRecord(**json.loads(raw))
                if (ticket is None or record.ticket == ticket) and (user is None or record.user_id == user):
                    found.append(record)
            last_id = rows[-1][0]
            # exclusive: continue below the last one read
            high = "(" + (last_id.decode() if isinstance(last_id, bytes) else str(last_id))
            if len(rows) < 500:
                break
        return found[:limit]
