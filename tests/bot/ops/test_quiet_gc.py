"""Full collections at quiet moments, never while a request is in flight; CPython's own stay on."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from typing import Any

from bot.ops.quiet_gc import QuietCollector


def test_due_only_when_quiet_long_enough() -> None:
    collector = QuietCollector(quiet_seconds=0.25, every_seconds=10)
    collector.last_full = collector.last_busy = 1000.0
    assert not collector.due(1005.0)  # quiet, but a full pass ran 5 s ago
    assert collector.due(1010.0)
    collector.in_flight = 1
    assert not collector.due(1060.0)  # a request in flight
    collector.in_flight, collector.last_busy = 0, 1059.9
    assert not collector.due(1060.0)  # the last request ended 0.1 s ago
    assert collector.due(1060.3)


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


async def test_a_quiet_process_collects_and_cpythons_thresholds_stay() -> None:
    before = gc.get_threshold()
    collector = QuietCollector(quiet_seconds=0.01, every_seconds=0.0)
    collector.last_busy -= 1
    collected = gc.get_stats()[2]["collections"]
    running = asyncio.create_task(collector.run())
    await asyncio.sleep(0.05)
    assert gc.get_stats()[2]["collections"] > collected  # quiet: a full pass ran
    assert gc.get_threshold() == before
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)
