"""Where an ack's time goes: the real app (ticketbot's Starlette app, Bolt and the handlers, a
real Redis), driven in-process through httpx's ASGI transport with signed `/ticket update`
commands one at a time, under cProfile. The HTTP server itself (uvicorn, httptools) is outside
the picture: the floor app (bench/floor_app.py) measures that part.

    python bench/ack_profile.py [--requests 2000] [--top 25]

Prints the functions with the most time of their own, then the time per ack by area (the edge's
signature check, Bolt's middleware and dispatch, the handlers' parse and job write, Redis,
logging and metrics).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import os
import pstats
import sys
import time
from collections import Counter
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import SMOKE, Stack
from bench.signing import signed_command

AREAS = (  # the first match names a function's area, by its file
    ("bot/slack/", "edge: signature, body limit, replay guard"),
    ("slack_bolt/", "Bolt: request parsing, middleware, dispatch"),
    ("handlers/", "handlers: parse, job write, ack body"),
    ("bot/domain/", "grammar and domain"),
    ("bot/store/", "stores (quota, queue, ack budget)"),
    ("redis/", "redis-py"),
    ("logging/", "logging"),
    ("bot/ops/", "logs and metrics"),
    ("prometheus_client/", "logs and metrics"),
    ("starlette/", "Starlette"),
    ("httpx/", "the in-process client (not the server's)"),
    ("asyncio/", "the event loop"),
)


def area(filename: str) -> str:
    for marker, name in AREAS:
        if marker in filename:
            return name
    return "other"


async def drive(requests: int, stack: Stack) -> tuple[cProfile.Profile, float]:
    os.environ.update(stack.env())
    from bot.ops.config import load_config
    from handlers.app import build_bot

    bot = build_bot(load_config())
    bot.authorize.warm_up()
    app = bot.http_app(redis_ok=bot.core.redis_ok)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ticketbot") as http:

        async def one(n: int) -> None:
            body, headers = signed_command(
                f"PROJ-{n % 60 + 1} priority={'high' if n % 2 else 'low'}",
                f"{stack.slack_url}/response/p-{n}",
            )
            response = await http.post("/slack/events", content=body, headers=headers)
            assert response.status_code == 200, response.status_code

        for n in range(50):  # warm-up: auth.test, connections, caches
            await one(n)
        profile = cProfile.Profile()
        started = time.perf_counter()
        profile.enable()
        for n in range(requests):
            await one(n)
        profile.disable()
        elapsed = time.perf_counter() - started
    await bot.core.aclose()
    return profile, elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds (CI)")
    args = parser.parse_args()
    requests = 50 if SMOKE else args.requests
    stack = Stack(latency=0.15)
    try:
        profile, elapsed = asyncio.run(drive(requests, stack))
    finally:
        stack.close()
    stats = pstats.Stats(profile)
    by_area: Counter[str] = Counter()
    for (filename, _, _), (_, _, own, _, _) in stats.stats.items():  # type: ignore[attr-defined]
        by_area[area(filename)] += own
    total = sum(by_area.values())
    print(f"{requests} acks in {elapsed:.2f} s under the profiler: {elapsed / requests * 1000:.3f} ms each")
    print("\nown time per ack, by area (profiled; the profiler itself inflates every figure alike)")
    for name, seconds in by_area.most_common():
        print(f"  {seconds / requests * 1e6:8.0f} µs  {seconds / total:5.1%}  {name}")
    out = io.StringIO()
    pstats.Stats(profile, stream=out).sort_stats("tottime").print_stats(args.top)
    print(out.getvalue())


if __name__ == "__main__":
    main()
