"""When each workspace was last active (distributed mode), for support (`ticketbot workspaces`):
noted when a process reads the workspace (at most once per read, so within the time a process
keeps a workspace), kept 90 days in Redis.

Noted workspaces are written together every FLUSH_SECONDS, not one write per read: a cold
workspace's request then costs no Redis write on the event loop (#41). They go in pipelines of
FLUSH_CHUNK, one after another: one pipeline of all of them (2,600 after five seconds of cold
reads at c=10) held the event loop ~10 ms to pack and kept a pooled connection for ~40 ms, so the
acks behind it waited, or opened a connection (measured in-process: a 68-111 ms ack). A process
that stops loses at most that many seconds of notes (support's view, nothing else)."""

from __future__ import annotations

import asyncio
import logging
import time

import redis.asyncio as aioredis

from bot.store import keys

log = logging.getLogger(__name__)
KEEP_SECONDS = 90 * 86400
FLUSH_SECONDS = 5.0
MOST_NOTED = 10_000  # written at once when this many wait (bounds what a process holds)
FLUSH_CHUNK = 100  # writes per round trip (~0.4 ms of packing on the event loop)


def activity_key(tenant: str) -> str:
    return keys.key("workspace-active", tenant)


class WorkspaceActivity:
    def __init__(self, client: aioredis.Redis | None, flush_seconds: float = FLUSH_SECONDS) -> None:
        self.client = client
        self.flush_seconds = flush_seconds
        self._noted: dict[str, float] = {}
        self._flushing: set[asyncio.Task[None]] = set()

    def note(self, tenant: str) -> None:
        """Seen now; written with the others noted within the next `flush_seconds`."""
        if self.client is None:
            return
        first = not self._noted
        self._noted[tenant] = time.time()
        if len(self._noted) >= MOST_NOTED:
            self._start_flush()
        elif first:
            asyncio.get_running_loop().call_later(self.flush_seconds, self._start_flush)

    def _start_flush(self) -> None:
        if not self._noted:
            return
        task = asyncio.get_running_loop().create_task(self.flush())
        self._flushing.add(task)
        task.add_done_callback(self._flushing.discard)

    async def flush(self) -> None:
        """Every noted workspace written, FLUSH_CHUNK a round trip (the event loop serves
        requests between them)."""
        noted, self._noted = self._noted, {}
        if self.client is None or not noted:
            return
        written = list(noted.items())
        try:
            for start in range(0, len(written), FLUSH_CHUNK):
                async with self.client.pipeline(transaction=False) as pipe:
                    for tenant, at in written[start : start + FLUSH_CHUNK]:
                        pipe.set(activity_key(tenant), str(at), ex=KEEP_SECONDS)
                    await pipe.execute()
        except Exception as exc:  # only support's view of the workspaces is less precise
            log.info("last activity of %d workspaces not recorded (%s)", len(noted), type(exc).__name__)

    async def seen(self, tenant: str, at: float | None = None) -> None:
        if self.client is None:
            return
        try:
            when = str(at if at is not None else time.time())
            await self.client.set(activity_key(tenant), when, ex=KEEP_SECONDS)
        except Exception as exc:  # only support's view of the workspace is less precise
            log.info("last activity of %s not recorded (%s)", tenant, type(exc).__name__)

    async def last(self, tenant: str) -> float | None:
        if self.client is None:
            return None
        raw = await self.client.get(activity_key(tenant))
        try:
            return float(raw) if raw is not None else None
        except ValueError:
            return None
