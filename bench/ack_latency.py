"""Ack latency: signed `/ticket update` requests over loopback HTTP, at concurrency 1, 10 and 50,
the sandbox answering in 150 ms; the floor (a bare signature check), ticketbot and the naive
baseline in the same run. ticketbot's worker processes are paused during the rounds (their jobs
wait in the stream), so its acks are measured alone, as the floor's are; `--with-workers` lets
them run (bench/ack_under_load.py measures that case against the floor).

    python bench/ack_latency.py [--httpx] [--with-workers]

Targets: concurrency 1 p50 ≤ 3 ms and p99 ≤ 10 ms; concurrency 10 p99 ≤ 50 ms; concurrency 50
no ack over 1 s; p50 at least 4× lower than the baseline's; concurrency 1 p50 and concurrency 10
p99 each within 1.5× the floor's. Requests go out through the lean
keep-alive generator (bench/loadgen.py); `--httpx` sends them with httpx instead, to show what
a heavier client on the same two cores adds.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import signal
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import SMOKE, Server, Stack, save, stats_ms, table, verdict
from bench.loadgen import Request, load
from bench.signing import signed_command

ROUNDS = {1: 20, 10: 40, 50: 50} if SMOKE else {1: 300, 10: 600, 50: 600}
counter = itertools.count()


def command(stack: Stack) -> Request:
    n = next(counter)
    return signed_command(
        f"PROJ-{n % 60 + 1} priority={'high' if n % 2 else 'low'}", f"{stack.slack_url}/response/ack-{n}"
    )


async def with_httpx(
    http: httpx.AsyncClient, server: Server, stack: Stack, concurrency: int, total: int
) -> list[float]:
    latencies: list[float] = []
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            body, headers = command(stack)
            started = time.perf_counter()
            response = await http.post(server.events_url, content=body, headers=headers)
            latencies.append(time.perf_counter() - started)
            assert response.status_code == 200, response.status_code

    await asyncio.gather(*(one() for _ in range(total)))
    return latencies


async def measure(
    stack: Stack, server: Server, use_httpx: bool, keep_workers: bool = False
) -> dict[int, dict[str, float]]:
    limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
    async with httpx.AsyncClient(limits=limits, timeout=30) as http:

        async def run(concurrency: int, total: int) -> list[float]:
            if use_httpx:
                return await with_httpx(http, server, stack, concurrency, total)
            return await load(server.events_url, concurrency, total, lambda _: command(stack))

        await run(5, 50)  # warm-up: connections, caches, auth.test
        await asyncio.sleep(0.2 if SMOKE else 2)
        results = {}
        # The acks alone: ticketbot's worker processes wait (their jobs stay in the stream) while
        # the acks are measured, as the floor has none; bench/ack_under_load.py measures the acks
        # with them draining.
        pausing = server.name.startswith("ticketbot") and not keep_workers
        if pausing:
            server.signal_workers(signal.SIGSTOP)
        try:
            for concurrency, total in ROUNDS.items():
                results[concurrency] = stats_ms(await run(concurrency, total))
                if not pausing:
                    await asyncio.sleep(0.3 if SMOKE else 3)  # let the work behind the acks drain
        finally:
            if pausing:
                server.signal_workers(signal.SIGCONT)
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--httpx", action="store_true", help="send with httpx instead of bench/loadgen.py")
    parser.add_argument(
        "--with-workers", action="store_true", help="let ticketbot's workers run the jobs during the rounds"
    )
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds (CI)")
    args = parser.parse_args()
    stack = Stack(latency=0.15)
    try:
        figures = {}
        for name in ("floor", "ticketbot", "ticketbot-distributed", "baseline"):
            server = stack.start(name)
            figures[name] = asyncio.run(measure(stack, server, args.httpx, args.with_workers))
            server.stop()
            stack.servers.remove(server)
    finally:
        stack.close()
    client = "httpx" if args.httpx else "loadgen"
    rows: list[list[object]] = [["app", "client", "concurrency", "requests", "p50 ms", "p99 ms", "max ms"]]
    for name, by_concurrency in figures.items():
        for concurrency, s in by_concurrency.items():
            rows.append([name, client, concurrency, s["n"], s["p50"], s["p99"], s["max"]])
    print(table(rows))
    ours, base, floor = figures["ticketbot"], figures["baseline"], figures["floor"]
    ratio = round(base[1]["p50"] / max(ours[1]["p50"], 1e-9), 1)
    over_floor_c1 = round(ours[1]["p50"] / max(floor[1]["p50"], 1e-9), 2)
    over_floor_c10 = round(ours[10]["p99"] / max(floor[10]["p99"], 1e-9), 2)
    print()
    print(verdict(over_floor_c1 <= 1.5, f"concurrency 1: p50 {over_floor_c1}× the floor's (≤ 1.5×)"))
    print(verdict(over_floor_c10 <= 1.5, f"concurrency 10: p99 {over_floor_c10}× the floor's (≤ 1.5×)"))
    print(verdict(ours[1]["p50"] <= 3, f"concurrency 1: p50 {ours[1]['p50']} ms ≤ 3 ms"))
    print(verdict(ours[1]["p99"] <= 10, f"concurrency 1: p99 {ours[1]['p99']} ms ≤ 10 ms"))
    print(verdict(ours[10]["p99"] <= 50, f"concurrency 10: p99 {ours[10]['p99']} ms ≤ 50 ms"))
    print(verdict(ours[50]["max"] <= 1000, f"concurrency 50: max {ours[50]['max']} ms ≤ 1000 ms"))
    print(verdict(ratio >= 4, f"p50 {ratio}× lower than the baseline's (≥ 4×)"))
    many = figures["ticketbot-distributed"]
    many_c1 = round(many[1]["p50"] / max(ours[1]["p50"], 1e-9), 2)
    many_c10 = round(many[10]["p99"] / max(ours[10]["p99"], 1e-9), 2)
    print(
        verdict(
            many_c1 <= 1.5, f"distributed mode, concurrency 1: p50 {many_c1}× single-workspace's (≤ 1.5×)"
        )
    )
    print(
        verdict(
            many_c10 <= 1.5, f"distributed mode, concurrency 10: p99 {many_c10}× single-workspace's (≤ 1.5×)"
        )
    )
    figures_json = {k: {str(c): s for c, s in v.items()} for k, v in figures.items()}
    save(
        "ack_latency_httpx" if args.httpx else "ack_latency",
        {
            "client": client,
            "figures": figures_json,
            "ratio_p50": ratio,
            "over_floor": {"c1_p50": over_floor_c1, "c10_p99": over_floor_c10},
            "distributed_over_single": {"c1_p50": many_c1, "c10_p99": many_c10},
        },
    )


if __name__ == "__main__":
    main()
