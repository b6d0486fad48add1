"""Python's full garbage collections at quiet moments of the HTTP process, not in the middle of
requests.

A full collection walks every long-lived object and holds every request in flight meanwhile.
Start-up's objects are frozen (`serve`), but the workspaces a process keeps are not: with 3,500
kept (33 tracked objects and ~170 references each) one full collection takes 80-100 ms here, and
CPython runs one whenever its long-lived objects have grown by a quarter: 3 of 44-108 ms in 6,000
acks of distinct workspaces, landing where workspaces are being read (#41, bench/tenants.py).
What those collections would free is next to nothing: a workspace's wiring has no reference
cycle (a dropped one is freed at once), and those 6,000 acks left 147 objects of cyclic garbage.

So `take_over` turns CPython's automatic full collections off (its young ones stay on: they free
a request's short-lived cycles), and `run` makes them here: once the process has had no request
for QUIET_SECONDS (at most every EVERY_SECONDS), and, where it is never that quiet, when none has
run for OVERDUE_SECONDS: the cyclic garbage that outlives the young collections is freed within
that much time whatever the traffic.
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
OVERDUE_SECONDS = 120.0
# gc's third threshold counts generation-1 collections (one per 7,000 objects allocated and not
# yet freed, at most) since the last full one: this many never come between two of `run`'s.
NOT_AUTOMATIC = 1_000_000_000

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class QuietCollector:
    def __init__(
        self,
        quiet_seconds: float = QUIET_SECONDS,
        every_seconds: float = EVERY_SECONDS,
        overdue_seconds: float = OVERDUE_SECONDS,
    ) -> None:
        self.quiet_seconds = quiet_seconds
        self.every_seconds = every_seconds
        self.overdue_seconds = overdue_seconds
        self._automatic = gc.get_threshold()[2]  # CPython's third threshold before `take_over`
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

    def take_over(self) -> None:
        """CPython's automatic full collections off, its young ones as they were; `run` makes
        the full ones from now on (and gives them back to CPython when it ends)."""
        young, middle, self._automatic = gc.get_threshold()
        gc.set_threshold(young, middle, NOT_AUTOMATIC)

    def due(self, now: float) -> str | None:
        """Why a full collection is due now ("quiet", "overdue"), or None."""
        since = now - self.last_full
        if since >= self.overdue_seconds:
            return "overdue"
        quiet = self.in_flight == 0 and now - self.last_busy >= self.quiet_seconds
        return "quiet" if quiet and since >= self.every_seconds else None

    async def run(self) -> None:
        """Until cancelled: a full collection at each quiet moment (at most every EVERY_SECONDS),
        or when one is overdue."""
        try:
            while True:
                await asyncio.sleep(self.quiet_seconds)
                reason = self.due(time.monotonic())
                if reason is not None:
                    gc.collect()
                    FULL_COLLECTIONS.labels(reason).inc()
                    self.last_full = time.monotonic()
        finally:
            young, middle, third = gc.get_threshold()
            if third == NOT_AUTOMATIC:  # taken over: CPython's own again
                gc.set_threshold(young, middle, self._automatic)
