"""Acks while the worker drains: 300 updates queued, the worker applying them at the account's
rate limit (TRUTO_RATE_LIMIT per TRUTO_RATE_WINDOW_SECONDS), and signed `/ticket update` acks
measured at concurrency 10 meanwhile, beside the floor app (a bare signature check) in the same
run. Also the worker processes' CPU per job applied, and their share of the machine.

    python bench/ack_under_load.py

Target: ticketbot's p99 at concurrency 10 within 1.5× the floor's, as for acks alone
(bench/ack_latency.py), with the drain running.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import SMOKE, Server, Stack, cpu_seconds, save, sized, stats_ms, table, verdict
from bench.loadgen import Request, load
from bench.signing import signed_command

QUEUED = sized(300, 20)
ACKS = sized(600, 40)
DRAIN_WINDOW = 2.0 if SMOKE else 10.0  # seconds the worker is watched with no acks arriving
RATE = {"TRUTO_RATE_LIMIT": "50", "TRUTO_RATE_WINDOW_SECONDS": "10"}  # the default budget
counter = itertools.count()


def command(stack: Stack) -> Request:
    n = next(counter)
    return signed_command(
        f"PROJ-{n % 60 + 1} priority={'high' if n % 2 else 'low'}", f"{stack.slack_url}/response/load-{n}"
    )


def patches(stack: Stack) -> int:
    return sum(1 for call in stack.sandbox_calls() if call.get("method") == "PATCH")


def worker_cpu(server: Server) -> float:
    return sum(cpu_seconds(pid) for pid in server.workers())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds (CI)")
    parser.parse_args()
    stack = Stack(latency=0.15)
    try:
        floor = stack.start("floor")
        asyncio.run(load(floor.events_url, 5, 50, lambda _: command(stack)))
        floor_acks = stats_ms(asyncio.run(load(floor.events_url, 10, ACKS, lambda _: command(stack))))
        floor.stop()
        stack.servers.remove(floor)

        bot = stack.start("ticketbot", **RATE)
        asyncio.run(load(bot.events_url, 5, 20, lambda _: command(stack)))  # warm-up
        time.sleep(0.5 if SMOKE else 3)
        asyncio.run(load(bot.events_url, 10, QUEUED, lambda _: command(stack)))  # the backlog
        time.sleep(0.3 if SMOKE else 2)  # the worker is at it
        applied, cpu, started = patches(stack), worker_cpu(bot), time.perf_counter()
        during = stats_ms(asyncio.run(load(bot.events_url, 10, ACKS, lambda _: command(stack))))
        acks_seconds = time.perf_counter() - started
        time.sleep(DRAIN_WINDOW)
        window = time.perf_counter() - started
        applied_in_window = patches(stack) - applied
        cpu_in_window = worker_cpu(bot) - cpu
    finally:
        stack.close()
    rows: list[list[object]] = [["app", "while", "requests", "p50 ms", "p99 ms", "max ms"]]
    rows.append(
        [
            "floor",
            "nothing else runs",
            floor_acks["n"],
            floor_acks["p50"],
            floor_acks["p99"],
            floor_acks["max"],
        ]
    )
    rows.append(["ticketbot", "the worker drains", during["n"], during["p50"], during["p99"], during["max"]])
    print(table(rows))
    per_job_ms = round(cpu_in_window / max(applied_in_window, 1) * 1000, 2)
    share = round(cpu_in_window / window * 100, 1)
    print(
        f"\nworker: {applied_in_window} updates applied in {window:.1f} s "
        f"(the acks took {acks_seconds:.1f} s of it), {per_job_ms} ms of CPU per update, "
        f"{share}% of one core"
    )
    over = round(during["p99"] / max(floor_acks["p99"], 1e-9), 2)
    print(verdict(over <= 1.5, f"concurrency 10 with the drain: p99 {over}× the floor's (≤ 1.5×)"))
    save(
        "ack_under_load",
        {
            "floor": floor_acks,
            "ticketbot": during,
            "over_floor_p99": over,
            "worker": {
                "applied": applied_in_window,
                "cpu_ms_per_update": per_job_ms,
                "core_share_pct": share,
            },
        },
    )


if __name__ == "__main__":
    main()
