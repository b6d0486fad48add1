"""Time to a new ticket's card: from a signed `/ticket create "…" project=PROJ type=Bug
cf.severity=major` to its card at the fake Slack API, the sandbox answering in 150 ms per call,
one create at a time; then the calls the creates made to the ticketing API, and the tickets made.

    python bench/create_card.py

Targets (#44): with the account's create meta and lists kept (after the first create), p50 ≤
150 ms + 75 ms (one POST, then the card), one API call per create (the POST), and exactly one
ticket per command.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Stack, save, sized, stats_ms, table, verdict
from bench.signing import signed_command

ROUNDS = sized(40, 4)
LATENCY = 0.15


def create_times(stack: Stack, events_url: str, tag: str, rounds: int) -> list[float]:
    seconds: list[float] = []
    with httpx.Client(timeout=30) as http:
        for n in range(rounds):
            url = f"{stack.slack_url}/response/{tag}-{n}"
            line = f'create "Checkout fails, round {n}" project=PROJ type=Bug cf.severity=major'
            body, headers = signed_command(line, url)
            started = time.monotonic()
            http.post(events_url, content=body, headers=headers)
            seconds.append(stack.seconds_to_card(started, text=f"round {n}"))
    return seconds


def main() -> None:
    stack = Stack(latency=LATENCY)
    try:
        server = stack.start("ticketbot")
        create_times(stack, server.events_url, "first", 1)  # the create meta and lists read, kept
        stack.reset_counts()
        figures = stats_ms(create_times(stack, server.events_url, "kept", ROUNDS))
        calls = [c for c in stack.sandbox_calls() if not c["path"].startswith("/_sandbox")]
        posts = [c for c in calls if c["method"] == "POST" and c["path"] == "/unified/ticketing/tickets"]
    finally:
        stack.close()
    per_create = round(len(calls) / ROUNDS, 2)
    rows: list[list[object]] = [["creates", "p50 ms", "p99 ms", "max ms", "API calls per create", "POSTs"]]
    rows.append([figures["n"], figures["p50"], figures["p99"], figures["max"], per_create, len(posts)])
    print(table(rows))
    print()
    target = LATENCY * 1000 + 75
    print(verdict(figures["p50"] <= target, f"p50 {figures['p50']} ms ≤ {target:.0f} ms"))
    print(verdict(per_create <= 1, f"{per_create} API calls per create (≤ 1: the POST)"))
    print(verdict(len(posts) == ROUNDS, f"{len(posts)} POSTs for {ROUNDS} creates (one each)"))
    save("create_card", {"figures": figures, "api_calls_per_create": per_create, "posts": len(posts)})


if __name__ == "__main__":
    main()
