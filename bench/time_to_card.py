"""Time to card: from the signed `/ticket update` to the card arriving at the fake Slack API, the
sandbox answering in 150 ms per call; ticketbot and the baseline in the same run.

    python bench/time_to_card.py

Target: p50 ≤ 150 ms + 25 ms (a ticket seen recently: one PATCH), at least 3× faster than the
baseline.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Server, Stack, save, sized, stats_ms, table, verdict
from bench.signing import signed_command

ROUNDS = sized(60, 4)


def card_times(stack: Stack, server: Server, tag: str) -> list[float]:
    seconds: list[float] = []
    with httpx.Client(timeout=30) as http:
        for n in range(ROUNDS):
            url = f"{stack.slack_url}/response/{tag}-{n}"
            body, headers = signed_command(f"PROJ-{n % 10 + 1} priority={'high' if n % 2 else 'low'}", url)
            started = time.monotonic()
            http.post(server.events_url, content=body, headers=headers)
            path = f"/response/{tag}-{n}"
            # ticketbot posts the card in the channel as the bot; the baseline answers through the
            # response_url.
            seconds.append(stack.seconds_to_card(started, path=path))
    return seconds


def main() -> None:
    stack = Stack(latency=0.15)
    figures = {}
    try:
        for name in ("ticketbot", "baseline"):
            server = stack.start(name)
            card_times(stack, server, f"warm-{name}")  # tickets seen, lookups cached (ticketbot)
            stack.reset_counts()
            figures[name] = stats_ms(card_times(stack, server, name))
            server.stop()
            stack.servers.remove(server)
    finally:
        stack.close()
    rows: list[list[object]] = [["app", "updates", "p50 ms", "p99 ms", "max ms"]]
    rows += [[name, s["n"], s["p50"], s["p99"], s["max"]] for name, s in figures.items()]
    print(table(rows))
    ratio = round(figures["baseline"]["p50"] / figures["ticketbot"]["p50"], 1)
    print()
    print(verdict(figures["ticketbot"]["p50"] <= 175, f"p50 {figures['ticketbot']['p50']} ms ≤ 175 ms"))
    print(verdict(ratio >= 3, f"{ratio}× faster than the baseline (≥ 3×)"))
    save("time_to_card", {"figures": figures, "ratio_p50": ratio})


if __name__ == "__main__":
    main()
