"""Python's full garbage collections at quiet moments of the HTTP process, so that fewer of them
fall in the middle of requests.

A full collection walks every long-lived object and holds every request in flight meanwhile.
Start-up's objects are frozen (`serve`), but the workspaces a process keeps are not: with 2,400
workspaces kept (about 32 tracked objects each), the automatic full collections measured 20-60
ms, and they fire while cold workspaces are being read, which is when acks are busiest (#41,
bench/tenants.py). Here a full collection also runs once the process has had no request for
QUIET_SECONDS (at most every EVERY_SECONDS), which resets what CPython counts towards its next
automatic one. CPython's own thresholds stay as they are: under traffic without a pause its
full collections still run when due, so memory stays bounded (turning them off and collecting
only when quiet, or every two minutes, let a steady stream of cold workspaces leave over 100 MiB
of cyclic garbage waiting).
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from bot.ops.metrics import FULL_COLLECTIONS

QUIET_SECONDS = 0.25
EVERY_SECONDS = 10.0

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class QuietCollector:
    def __init__(self, quiet_seconds: float = QUIET_SECONDS, every_seconds: float = EVERY_SECONDS) -> None:
        self.quiet_seconds = quiet_seconds
        self.every_seconds = every_seconds
        self.in_flight = 0
        self.last_busy = self.last_full = time.monotonic()

    def counting(self, app: ASGIApp) -> ASGIApp:
        """`app` with its HTTP requests in flight counted."""

        async def counted(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http":
                await app(scope, receive, send)
                return
            self.in_flight += 1
            try:
                await app(scope, receive, send)
            finally:
                self.in_flight -= 1
                self.last_busy = time.monotonic()

        return counted

    def due(self, now: float) -> bool:
        quiet = self.in_flight == 0 and now - self.last_busy >= self.quiet_seconds
        return quiet and now - self.last_full >= self.every_seconds

    async def run(self) -> None:
        """Until cancelled: a full collection at each quiet moment, at most every EVERY_SECONDS."""
        while True:
            await asyncio.sleep(self.quiet_seconds)
            if self.due(time.monotonic()):
                gc.collect()
                FULL_COLLECTIONS.inc()
                self.last_full = time.monotonic()
