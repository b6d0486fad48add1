"""Subscription lines kept to Slack's pace for a channel (about one message a second), and a
backlog summarised instead of dropped: past `backlog` lines waiting for one channel, the next
ones become one line, "12 more changes in the last minute: PROJ-1, PROJ-7, …", posted when the
channel's turn comes (by the last line waiting, if none follows).

Per process: each worker process paces its own posts (Slack's client waits out a 429's
Retry-After besides).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

Post = Callable[[], Awaitable[None]]
Summary = Callable[[list[str]], Awaitable[None]]


@dataclass
class _Channel:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    last: float = 0.0
    waiting: int = 0
    held_back: list[str] = field(default_factory=list)


class ChannelPacer:
    def __init__(self, interval: float = 1.0, backlog: int = 10) -> None:
        self.interval = interval
        self.backlog = backlog
        self._channels: dict[str, _Channel] = {}

    async def _turn(self, state: _Channel) -> None:
        wait = state.last + self.interval - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        state.last = time.monotonic()

    async def send(self, channel: str, ref: str, post: Post, summary: Summary) -> bool:
        """Post in the channel's turn; False when it joined the summary instead."""
        state = self._channels.setdefault(channel, _Channel())
        if state.waiting >= self.backlog:
            state.held_back.append(ref)
            return False
        state.waiting += 1
        try:
            async with state.lock:
                await self._turn(state)
                await post()
        finally:
            state.waiting -= 1
            if state.waiting == 0:
                await self._flush(state, summary)
                if not state.waiting and not state.held_back and not state.lock.locked():
                    self._channels.pop(channel, None)
        return True

    async def _flush(self, state: _Channel, summary: Summary) -> None:
        if not state.held_back:
            return
        refs, state.held_back = state.held_back, []
        async with state.lock:
            await self._turn(state)
            await summary(refs)
