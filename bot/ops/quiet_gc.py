"""Python's full garbage collections moved out of the requests' way: run when the HTTP process
is quiet, not whenever enough objects have lived long enough.

A full collection walks every long-lived object and holds every request in flight meanwhile.
Start-up's objects are frozen (`serve`), but the workspaces a process keeps are not: with 2,400
workspaces kept (about 32 tracked objects each), the automatic full collections measured 20-60
ms, and they fire while cold workspaces are being read, which is when acks are busiest (#41,
bench/tenants.py). Here the automatic full pass is off; young objects are still collected as
usual, and a full collection runs once the process has had no request for QUIET_SECONDS (at most
every EVERY_SECONDS); whatever the traffic, after LATEST_SECONDS or once the middle generation
has been collected MOST_MIDDLE_PASSES times since (what lived long enough to reach the old
generation grows with those passes: a workspace dropped from a process's bounded copy is cyclic
garbage there, and under a steady stream of cold workspaces two minutes of it measured over 100
MiB).
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
LATEST_SECONDS = 120.0
MOST_MIDDLE_PASSES = 50  # CPython considers a full pass every 10; about every 7 s under load here
NEVER = 1 << 30  # a full-pass threshold no process reaches

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class QuietCollector:
    def __init__(
        self,
        quiet_seconds: float = QUIET_SECONDS,
        every_seconds: float = EVERY_SECONDS,
        latest_seconds: float = LATEST_SECONDS,
    ) -> None:
        self.quiet_seconds = quiet_seconds
        self.every_seconds = every_seconds
        self.latest_seconds = latest_seconds
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

    def due(self, now: float, middle_passes: int = 0) -> bool:
        """`middle_passes`: collections of the middle generation since the last full one."""
        since = now - self.last_full
        quiet = self.in_flight == 0 and now - self.last_busy >= self.quiet_seconds
        overdue = since >= self.latest_seconds or middle_passes >= MOST_MIDDLE_PASSES
        return overdue or (quiet and since >= self.every_seconds)

    async def run(self) -> None:
        """Until cancelled: the automatic full pass off, full collections when due."""
        young, middle, full = gc.get_threshold()
        gc.set_threshold(young, middle, NEVER)
        try:
            while True:
                await asyncio.sleep(self.quiet_seconds)
                if self.due(time.monotonic(), gc.get_count()[2]):
                    gc.collect()
                    FULL_COLLECTIONS.inc()
                    self.last_full = time.monotonic()
        finally:
            gc.set_threshold(young, middle, full)
