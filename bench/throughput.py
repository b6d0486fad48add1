"""Throughput: updates per second one process (plus its worker) sustains, sandbox at 150 ms.
Then with the per-account limit on: the configured rate exactly, and no 429 from the sandbox.

    python bench/throughput.py

Target: ≥ 200 updates/s with the limit off.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Stack, pause, save, sized, verdict
from bench.loadgen import Request, load
from bench.signing import signed_command


async def flood(stack: Stack, url: str, count: int, tag: str, concurrency: int = 20) -> float:
    """Send `count` updates; seconds from the first send to the last card."""
    started = time.monotonic()

    def make(n: int) -> Request:
        return signed_command(
            f"PROJ-{n % 60 + 1} cf.story_points={n}", f"{stack.slack_url}/response/{tag}-{n}"
        )

    await load(url, min(concurrency, count), count, make)
    while True:
        # A card is posted as the bot in the channel, or (where it may not post, or for a quiet
        # no-op) answered through the command's response_url.
        cards = [
            c
            for c in stack.slack_calls()
            if c["path"].startswith(f"/response/{tag}-")
            or (c["method"] == "chat.postMessage" and c["at"] >= started)
        ]
        if len(cards) >= count or time.monotonic() - started > 120:
            return max((c["at"] for c in cards), default=time.monotonic()) - started
        await asyncio.sleep(0.1)


def main() -> None:
    stack = Stack(latency=0.15)
    try:
        server = stack.start("ticketbot", WORKER_CONCURRENCY="128", TRUTO_RATE_LIMIT="0")
        asyncio.run(flood(stack, server.events_url, sized(120, 10), "warm"))
        stack.reset_counts()
        count = sized(1000, 40)
        seconds = asyncio.run(flood(stack, server.events_url, count, "free"))
        rate_free = round(count / seconds, 1)
        # Every card must come from an applied update, not from an error answered early.
        applied = sum(1 for c in stack.sandbox_calls() if c["method"] == "PATCH")
        server.stop()
        stack.servers.remove(server)
        stack.close()
        stack = Stack(latency=0.15, enforce_rate="50/10")  # the sandbox now enforces the API's budget
        limited = stack.start("ticketbot", TRUTO_RATE_LIMIT="50", TRUTO_RATE_WINDOW_SECONDS="10")
        asyncio.run(flood(stack, limited.events_url, 1, "warm"))
        pause(10)  # a full budget again
        stack.reset_counts()
        seconds_limited = asyncio.run(flood(stack, limited.events_url, sized(100, 10), "limited"))
        calls = stack.sandbox_calls()
        patches = sorted(c["at"] for c in calls if c["method"] == "PATCH")
        too_many = sum(1 for c in calls if c["status"] == 429)
        steady = (len(patches) - 50) / (patches[-1] - patches[49]) if len(patches) > 60 else 0.0
    finally:
        stack.close()
    print(f"limit off: {count} updates in {seconds:.1f} s = {rate_free} updates/s ({applied} PATCHes)")
    print(
        f"limit on (50 per 10 s): 100 updates in {seconds_limited:.1f} s; after the first 50, {steady:.2f} PATCH/s; 429s from the sandbox: {too_many}"
    )
    print(verdict(rate_free >= 200 and applied == count, f"{rate_free} updates/s ≥ 200, each one applied"))
    print(verdict(too_many == 0 and 4.5 <= steady <= 5.2, "with the limit on: 5 per second and no 429"))
    save(
        "throughput",
        {
            "updates_per_second": rate_free,
            "applied": applied,
            "limited_steady_rate": round(steady, 2),
            "limited_429s": too_many,
        },
    )


if __name__ == "__main__":
    main()
