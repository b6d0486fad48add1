"""Changes every process must hear of at once, over Redis pub/sub: a workspace uninstalled, a
tool connected or removed, its settings saved. Each process keeps what it knows of a workspace
for a few seconds; an announcement makes every process read it again now.

While a process hears them, what it read after it began hearing is kept until an announcement
says it changed (bounded by a longer safety expiry). Without Redis, or while it is away, a process
hears nothing and its copy expires by itself (10 s).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import redis.asyncio as aioredis

from bot.store import keys, shared_workspaces

log = logging.getLogger(__name__)
RETRY_SECONDS = 1.0


def channel() -> str:
    return keys.key("workspaces", "changed")


class Announcements:
    def __init__(self, client: aioredis.Redis | None) -> None:
        self.client = client
        # Since when (time.monotonic()) this process has heard every announcement: None while
        # it is not subscribed. What was read before then may have missed one.
        self.hearing_since: float | None = None

    async def publish(self, tenant: str) -> None:
        """Called after the change is stored: the workspace gets a new change mark (so no process
        uses a shared copy read before it, bot/store/shared_workspaces.py) and every process
        hears of it, in one round trip."""
        if self.client is None:
            return
        mark = shared_workspaces.mark_key(tenant)
        try:
            async with self.client.pipeline(transaction=False) as pipe:
                pipe.set(mark, shared_workspaces.new_mark(), ex=shared_workspaces.MARK_SECONDS)
                pipe.publish(channel(), tenant)
                await pipe.execute()
        except Exception as exc:  # the change is stored; other processes see it within seconds
            log.warning("workspace change of %s not announced (%s)", tenant, type(exc).__name__)

    async def listen(self, heard: Callable[[str], None], ready: asyncio.Event | None = None) -> None:
        """Call `heard(tenant)` for each announcement, until cancelled; resubscribes after a
        lost connection."""
        if self.client is None:
            return
        while True:
            try:
                pubsub = self.client.pubsub(ignore_subscribe_messages=True)
                await pubsub.subscribe(channel())
                self.hearing_since = time.monotonic()
                if ready is not None:
                    ready.set()
                async for message in pubsub.listen():
                    data = message.get("data")
                    if isinstance(data, bytes | str):
                        heard(data.decode() if isinstance(data, bytes) else data)
            except asyncio.CancelledError:
                self.hearing_since = None
                raise
            except Exception as exc:
                self.hearing_since = None
                log.warning("workspace announcements interrupted (%s); listening again", type(exc).__name__)
                await asyncio.sleep(RETRY_SECONDS)
