"""Full collections at quiet moments (or when overdue), never while a request is in flight;
CPython's automatic full collections off meanwhile, its young ones on."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from typing import Any

from bot.ops.metrics import FULL_COLLECTIONS
from bot.ops.quiet_gc import NOT_AUTOMATIC, QuietCollector


def test_due_when_quiet_long_enough_or_overdue() -> None:
    collector = QuietCollector(quiet_seconds=0.25, every_seconds=10, overdue_seconds=120)
    collector.last_full = collector.last_busy = 1000.0
    assert collector.due(1005.0) is None  # quiet, but a full pass ran 5 s ago
    assert collector.due(1010.0) == "quiet"
    collector.in_flight = 1
    assert collector.due(1060.0) is None  # a request in flight
    collector.in_flight, collector.last_busy = 0, 1059.9
    assert collector.due(1060.0) is None  # the last request ended 0.1 s ago
    assert collector.due(1060.3) == "quiet"
    collector.in_flight, collector.last_busy = 3, 1119.9  # never quiet: due all the same
    assert collector.due(1119.9) is None
    assert collector.due(1120.0) == "overdue"


async def test_requests_are_counted_while_in_flight_and_after() -> None:
    collector = QuietCollector()
    seen: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(collector.in_flight)
        if scope["type"] == "http":
            raise RuntimeError("a failing request still ends")

    counted = collector.counting(app)
    await counted({"type": "lifespan"}, None, None)
    with contextlib.suppress(RuntimeError):
        await counted({"type": "http"}, None, None)
    assert seen == [0, 1] and collector.in_flight == 0


async def test_taken_over_a_quiet_process_collects_and_cpython_gets_its_own_back() -> None:
    before = gc.get_threshold()
    collector = QuietCollector(quiet_seconds=0.01, every_seconds=0.0)
    collector.take_over()
    assert gc.get_threshold() == (before[0], before[1], NOT_AUTOMATIC)  # the young ones as they were
    collector.last_busy -= 1
    collected = gc.get_stats()[2]["collections"]
    quiet = FULL_COLLECTIONS.labels("quiet")._value.get()
    running = asyncio.create_task(collector.run())
    await asyncio.sleep(0.05)
    assert gc.get_stats()[2]["collections"] > collected  # quiet: a full pass ran
    assert FULL_COLLECTIONS.labels("quiet")._value.get() > quiet
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    assert gc.get_threshold() == before  # ended: CPython's automatic full collections again


async def test_a_busy_process_collects_when_overdue() -> None:
    collector = QuietCollector(quiet_seconds=0.01, every_seconds=0.0, overdue_seconds=0.02)
    collector.in_flight = 1  # a request always in flight
    overdue = FULL_COLLECTIONS.labels("overdue")._value.get()
    running = asyncio.create_task(collector.run())
    await asyncio.sleep(0.1)
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
    assert FULL_COLLECTIONS.labels("overdue")._value.get() > overdue  # busy, yet collected
