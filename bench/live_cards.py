"""Live cards: from a change made in the tool to the card in Slack showing it.

    python bench/live_cards.py

A real `ticketbot serve` and the stubs: `/ticket` posts a card, then the ticket is changed 10
times in the sandbox (its control endpoint, standing for the tool's own UI), each a second
apart; the sandbox sends its signed webhook; we time change → `chat.update` at the fake Slack.
Also: 31 changes of one ticket in a burst → how many GETs and card updates.
The latency includes WEBHOOK_COALESCE_SECONDS (1 s: events for one ticket within it are one
refresh), which dominates it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Stack, free_port, pause, save, sized, stats_ms, table, verdict
from bench.signing import signed_command
from bot.sandbox import SANDBOX_TOKEN

STATUSES = [{"id": "js4"}, {"id": "js2"}]
CHANGES = sized(10, 2)
BURST = sized(31, 3)


def main() -> None:
    stack = Stack(latency=0.05)
    try:
        port = free_port()
        created = httpx.post(
            f"{stack.sandbox_url}/webhook",
            json={"target_url": f"http://127.0.0.1:{port}/truto/webhooks", "event_types": ["record:updated"]},
            headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"},
        ).json()
        stack.start("ticketbot", port, TRUTO_WEBHOOK_SECRET=created["secret"])
        with httpx.Client(timeout=30) as http:
            body, headers = signed_command("PROJ-42 priority=high", f"{stack.slack_url}/response/card")
            http.post(f"http://127.0.0.1:{port}/slack/events", content=body, headers=headers)

            def updates() -> int:
                return len([c for c in stack.slack_calls() if c["method"] == "chat.update"])

            deadline = time.monotonic() + 20
            while not [c for c in stack.slack_calls() if c["method"] == "chat.postMessage"]:
                assert time.monotonic() < deadline, "no card was posted"
                time.sleep(0.05)
            pause(2.0)  # the echo of the bot's own PATCH
            seen = updates()
            latencies: list[float] = []
            for n in range(CHANGES):
                changed = time.monotonic()
                http.patch(
                    f"{stack.sandbox_url}/_sandbox/tickets/sandbox-jira/PROJ-42",
                    json={"status": STATUSES[n % 2]},
                )
                while updates() <= seen and time.monotonic() - changed < 15:
                    time.sleep(0.01)
                latencies.append(time.monotonic() - changed)
                seen = updates()
                pause(1.0)
            stack.reset_counts()
            for n in range(BURST):  # ends on another status than the card shows
                http.patch(
                    f"{stack.sandbox_url}/_sandbox/tickets/sandbox-jira/PROJ-42",
                    json={"status": STATUSES[n % 2]},
                )
            pause(4.0)
            gets = len(
                [c for c in stack.sandbox_calls() if c["method"] == "GET" and c["path"].endswith("/PROJ-42")]
            )
            burst_updates = updates()
        figures = {
            "change_to_card_ms": stats_ms(latencies),
            "burst_31_gets": gets,
            "burst_31_card_updates": burst_updates,
        }
        print(
            table(
                [
                    ["measure", "value"],
                    ["change in the tool → card updated, p50 (ms)", figures["change_to_card_ms"]["p50"]],
                    ["… max (ms)", figures["change_to_card_ms"]["max"]],
                    ["31 changes in a burst: GETs", gets],
                    ["31 changes in a burst: card updates", burst_updates],
                ]
            )
        )
        print(
            verdict(
                len(latencies) == CHANGES and max(latencies) < 3.0, "every change reached the card within 3 s"
            )
        )
        print(verdict(gets <= 3, "a burst costs a few GETs, not one per event"))
        save("live_cards", figures)
    finally:
        stack.close()


if __name__ == "__main__":
    main()
