"""A 50-ticket bulk update under the real budget: 50 requests per 10 s per account.

    python bench/bulk.py

Measures: the batch's time from the command to its summary; the ticketing API calls it used
(target: one PATCH per ticket that changes, plus at most one GET per ticket not seen recently);
and the latency (command to card) of single updates sent every 2 s by another user while it
runs (target: within a few seconds each, the batch taking at most BULK_BUDGET_SHARE, 60 %).
The sandbox answers each call in 50 ms and enforces 50 requests / 10 s itself.
"""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Stack, pause, save, sized, table, verdict
from bench.signing import signed_command

CHANNEL = "C0BENCH"
TICKETS = sized(50, 4)
SINGLES = sized(5, 1)


def main() -> None:
    stack = Stack(latency=0.05, enforce_rate="50/10")
    figures: dict[str, object] = {}
    try:
        server = stack.start("ticketbot", TRUTO_RATE_LIMIT="50", BULK_PREVIEW_ABOVE="100")
        with httpx.Client(timeout=30) as http:

            def send(text: str, user: str, token: str) -> None:
                body, headers = signed_command(text, f"{stack.slack_url}/response/{token}", CHANNEL, user)
                assert http.post(server.events_url, content=body, headers=headers).status_code == 200

            send("help", "U0ANA", "warm")  # lookup lists and capabilities, outside the window
            pause(11)  # a fresh budget window
            stack.reset_counts()
            singles: list[float] = []
            started = time.monotonic()
            send(f"update PROJ-1..PROJ-{TICKETS} priority=high", "U0ANA", "batch")

            def single_updates() -> None:
                for n in range(SINGLES):
                    pause(2.0)
                    sent = time.monotonic()
                    ticket = 51 + n
                    send(f"PROJ-{ticket} priority=low", "U0BRUNO", f"single{n}")
                    while time.monotonic() - sent < 60:
                        calls = stack.slack_calls()
                        if any(
                            c["method"] == "chat.postMessage" and str(c["text"]).startswith(f"PROJ-{ticket}:")
                            for c in calls
                        ):
                            singles.append(time.monotonic() - sent)
                            break
                        time.sleep(0.05)

            thread = threading.Thread(target=single_updates)
            thread.start()
            finished = None
            while time.monotonic() - started < 180:
                if any(
                    c["method"] == "chat.update" and f"updated {TICKETS} tickets" in str(c["text"])
                    for c in stack.slack_calls()
                ):
                    finished = time.monotonic() - started
                    break
                time.sleep(0.1)
            thread.join()
            calls = stack.sandbox_calls()
            batch = [
                c
                for c in calls
                if "tickets/PROJ-" in c["path"] and int(c["path"].rsplit("-", 1)[1]) <= TICKETS
            ]
            gets = len([c for c in batch if c["method"] == "GET"])
            patches = len([c for c in batch if c["method"] == "PATCH" and c["status"] == 200])
            limited = len([c for c in calls if c["status"] == 429])
        figures = {
            "batch_seconds": round(finished, 1) if finished else None,
            "batch_gets": gets,
            "batch_patches": patches,
            "answered_429": limited,
            "single_update_seconds": [round(s, 2) for s in singles],
        }
        print(
            table(
                [
                    ["measure", "value"],
                    ["50-ticket batch, command → summary (s)", figures["batch_seconds"]],
                    ["GETs of the batch (target ≤ 50)", gets],
                    ["PATCHes of the batch (target 50)", patches],
                    ["429s from the sandbox", limited],
                    ["single updates during it, command → card (s)", ", ".join(f"{s:.2f}" for s in singles)],
                ]
            )
        )
        print(
            verdict(
                patches == TICKETS and gets <= TICKETS, "one PATCH per ticket, at most one GET per ticket"
            )
        )
        print(verdict(finished is not None, "the batch finished"))
        print(verdict(len(singles) == SINGLES and max(singles) < 3.0, "each single update within 3 s"))
        save("bulk", figures)
    finally:
        stack.close()


if __name__ == "__main__":
    main()
