"""When each workspace was last active (distributed mode), for support (`ticketbot workspaces`):
written when a process reads the workspace (at most once per read, so within the time a process
keeps a workspace), kept 90 days in Redis."""

from __future__ import annotations

import logging
import time

import redis.asyncio as aioredis

from bot.store import keys

log = logging.getLogger(__name__)
KEEP_SECONDS = 90 * 86400


def _key(tenant: str) -> str:
    return keys.key("workspace-active", tenant)


class WorkspaceActivity:
    def __init__(self, client: aioredis.Redis | None) -> None:
        self.client = client

    async def seen(self, tenant: str, at: float | None = None) -> None:
        if self.client is None:
            return
        try:
            await self.client.set(_key(tenant), str(at if at is not None else time.time()), ex=KEEP_SECONDS)
        except Exception as exc:  # only support's view of the workspace is less precise
            log.info("last activity of %s not recorded (%s)", tenant, type(exc).__name__)

    async def last(self, tenant: str) -> float | None:
        if self.client is None:
            return None
        raw = await self.client.get(_key(tenant))
        try:
            return float(raw) if raw is not None else None
        except ValueError:
            return None
