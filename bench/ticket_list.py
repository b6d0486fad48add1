"""`/ticket list` over a large tool: 5,000 tickets in the sandbox's Jira (50 ms an API call).

    python bench/ticket_list.py [--smoke]

A real `ticketbot serve` and the stubs. Each list is a signed `/ticket list <filter>`; timed from
the request to its answer at the fake Slack's response_url (both the machine's monotonic clock),
with the API calls it made. A list reads at most 5 pages of 100 (then says how many tickets it
looked at), so the target (#43): the first page's p50 ≤ the API's latency × pages read + 100 ms.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Stack, free_port, save, sized, stats_ms, table, verdict
from bench.signing import signed_command

TICKETS = sized(5000, 300)
LISTS = sized(20, 3)
LATENCY = 0.05
FILTERS = [
    'status="In Review"',
    "priority=Medium -tags=infra",
    '"login"',
    "overdue",
    "status=Done priority=Medium",
]


def main() -> None:
    stack = Stack(latency=LATENCY)
    try:
        statuses = ["To Do", "In Progress", "In Review", "Done"]
        tickets = [
            {
                "id": f"BIG-{n}",
                "number": f"BIG-{n}",
                "name": f"Ticket {n}: {['Login', 'Billing', 'Search', 'Export'][n % 4]} work",
                "status": {"id": f"js{n % 4 + 1}", "name": statuses[n % 4]},
                "priority": {"id": "jp3", "name": "Medium"},
                "due_date": "2020-01-01" if n % 50 == 0 else None,
                "updated_at": f"2026-11-{n % 28 + 1:02d}T09:00:00Z",
                "ticket_url": f"https://acme.atlassian.net/browse/BIG-{n}",
            }
            for n in range(1, TICKETS + 1)
        ]
        httpx.post(
            f"{stack.sandbox_url}/_sandbox/tickets",
            json={"account": "sandbox-jira", "tickets": tickets},
            timeout=60,
        )
        port = free_port()
        stack.start("ticketbot", port)
        seconds: list[float] = []
        calls: list[int] = []
        with httpx.Client(timeout=30) as http:
            for n in range(LISTS + 1):  # the first warms the lookups (statuses, priorities, tags)
                stack.reset_counts()
                url = f"{stack.slack_url}/response/list-{n}"
                body, headers = signed_command(f"list {FILTERS[n % len(FILTERS)]}", url)
                started = time.monotonic()
                http.post(f"http://127.0.0.1:{port}/slack/events", content=body, headers=headers)
                deadline = time.monotonic() + 30
                answer = None
                while answer is None and time.monotonic() < deadline:
                    answer = next((c for c in stack.slack_calls() if c["method"] == "response"), None)
                    time.sleep(0.005)
                assert answer is not None, "no answer"
                listed = [c for c in stack.sandbox_calls() if c["path"] == "/unified/ticketing/tickets"]
                if n:
                    seconds.append(answer["at"] - started)
                    calls.append(len(listed))
        pages = max(calls) if calls else 0
        figures = {
            "tickets_in_the_tool": TICKETS + 60,
            "lists": LISTS,
            "first_page_ms": stats_ms(seconds),
            "api_calls_per_list": sorted(set(calls)),
        }
    finally:
        stack.close()
    print(table([["measure", "value"]] + [[k, v] for k, v in figures.items()]))
    print()
    target = (LATENCY * pages + 0.1) * 1000
    p50 = figures["first_page_ms"]["p50"]
    print(
        verdict(
            p50 <= target,
            f"first page p50 {p50} ms (≤ {LATENCY * 1000:.0f} ms × {pages} pages + 100 = {target:.0f})",
        )
    )
    save("ticket_list", figures)


if __name__ == "__main__":
    main()
