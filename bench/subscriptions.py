"""Subscriptions at scale: 1,000 subscriptions over 200 channels, a burst of 500 changes made in
the tool, each reaching a real `ticketbot serve` as the sandbox's signed webhook.

    python bench/subscriptions.py

Reports the events sent, the Slack posts made, change → post p50/p99 (from the first change of
a ticket not yet told to the post that tells it; the coalescing window, WEBHOOK_COALESCE_SECONDS
= 1 s here as by default, is part of it), and the worker processes' memory before and after.
Targets (#27): p99 ≤ 2 s plus the window; memory growth ≤ 20 MiB. The fake Slack does not
rate-limit, so Slack's 429s are not part of this run.
"""

from __future__ import annotations

import asyncio
import re
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import SMOKE, Stack, free_port, pause, save, sized, stats_ms, table, verdict
from bench.signing import SECRET
from bot.domain.subscriptions import Condition, Subscription
from bot.sandbox import SANDBOX_TOKEN
from bot.store import keys
from bot.store.cache import RedisBackend
from bot.store.subscriptions import SubscriptionStore

SUBSCRIPTIONS = sized(1000, 40)
CHANNELS = sized(200, 8)
CHANGES = sized(500, 20)
TICKETS = 60  # the sandbox's Jira has PROJ-1…PROJ-60
TAGS = 20
WINDOW = 1.0
PRIORITIES = [("jp1", "Highest"), ("jp2", "High"), ("jp3", "Medium"), ("jp4", "Low"), ("jp5", "Lowest")]
STATUSES = [{"id": "js1", "name": "To Do"}, {"id": "js2", "name": "In Progress"}]
REF = re.compile(r"PROJ-\d+")


def tag(n: int) -> tuple[str, str]:
    return f"jl{n % TAGS + 1}", f"tag{n % TAGS + 1}"


def subscriptions() -> list[Subscription]:
    """As channels subscribe: each to one tag (a component, a team's label), with a priority, a
    status change, or an exclusion besides; spread over the channels."""
    made = []
    for n in range(SUBSCRIPTIONS):
        channel = f"C0B{n % CHANNELS:04d}"
        tid, tname = tag(n // 3)
        conditions: tuple[Condition, ...] = (
            Condition(word="tags", field="tags", ids=(tid,), names=(tname,)),
        )
        changed: tuple[str, ...] = ()
        kind = n % 7
        if kind < 5:
            pid, name = PRIORITIES[kind]
            conditions += (Condition(word="priority", field="priority", ids=(pid,), names=(name,)),)
        elif kind == 5:
            changed = ("status",)
        else:
            conditions += (
                Condition(word="priority", field="priority", ids=("jp5",), names=("Lowest",), negate=True),
            )
        made.append(
            Subscription(
                id=f"b{n}",
                channel=channel,
                account="sandbox-jira",
                conditions=conditions,
                changed=changed,
                created_by="U0ANA",
                created_at=float(n),
            )
        )
    return made


async def seed(redis_url: str) -> None:
    keys.use(keys.derive(SECRET))  # the namespace `ticketbot serve` derives from the bench's app
    store = SubscriptionStore(RedisBackend.from_url(redis_url))
    await store._write("sandbox-jira", subscriptions())  # straight in: the bench times delivery


def rss_kib(pids: list[int]) -> int:
    total = 0
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total


def main() -> None:
    stack = Stack(latency=0.02)
    try:
        port = free_port()
        created = httpx.post(
            f"{stack.sandbox_url}/webhook",
            json={"target_url": f"http://127.0.0.1:{port}/truto/webhooks", "event_types": ["record:updated"]},
            headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"},
        ).json()
        asyncio.run(seed(f"redis://127.0.0.1:{stack.redis_port}/0"))
        server = stack.start(
            "ticketbot", port, TRUTO_WEBHOOK_SECRET=created["secret"], WEBHOOK_COALESCE_SECONDS=str(WINDOW)
        )
        first_change: dict[str, float] = {}
        with httpx.Client(timeout=30) as http:
            # Warm-up: the worker loads what any first job loads (lookup lists, the ticket schema).
            for n in range(5):
                http.patch(
                    f"{stack.sandbox_url}/_sandbox/tickets/sandbox-jira/PROJ-{n + 1}",
                    json={"status": STATUSES[1]},
                )
            pause(5.0)
            stack.reset_counts()
            workers = server.workers()
            before = rss_kib(workers)
            started = time.monotonic()
            for n in range(CHANGES):
                ticket = f"PROJ-{n % TICKETS + 1}"
                pid, name = PRIORITIES[n % len(PRIORITIES)]
                first_change.setdefault(ticket, time.monotonic())
                http.patch(
                    f"{stack.sandbox_url}/_sandbox/tickets/sandbox-jira/{ticket}",
                    json={
                        "priority": {"id": pid, "name": name},
                        "status": STATUSES[n % 2],
                        "tags": [{"id": tag(n % TICKETS)[0]}],
                    },
                )
            sent = time.monotonic() - started
            quiet_since, count = time.monotonic(), 0
            while time.monotonic() - quiet_since < (1.5 if SMOKE else 3.0):
                time.sleep(0.25)
                now = len([c for c in stack.slack_calls() if c["method"] == "chat.postMessage"])
                if now != count:
                    count, quiet_since = now, time.monotonic()
        after = rss_kib(workers)
        posts = [c for c in stack.slack_calls() if c["method"] == "chat.postMessage"]
        latencies = []
        for post in posts:
            found = REF.search(str(post.get("text") or ""))
            if found and found.group(0) in first_change:
                latencies.append(post["at"] - first_change[found.group(0)])
        gets = len([c for c in stack.sandbox_calls() if c["method"] == "GET"])
        figures = {
            "subscriptions": SUBSCRIPTIONS,
            "channels": CHANNELS,
            "changes": CHANGES,
            "changes_sent_s": round(sent, 2),
            "ticket_reads": gets,
            "posts": len(posts),
            "change_to_post_ms": stats_ms(latencies),
            "worker_rss_growth_mib": round((after - before) / 1024, 1),
        }
        s = figures["change_to_post_ms"]
        print(
            table(
                [
                    ["measure", "value"],
                    ["subscriptions / channels", f"{SUBSCRIPTIONS} / {CHANNELS}"],
                    ["changes made in the tool (webhook events)", CHANGES],
                    ["ticket reads (GET)", gets],
                    ["Slack posts", len(posts)],
                    ["change → post p50 (ms)", s["p50"]],
                    ["change → post p99 (ms)", s["p99"]],
                    ["worker processes' memory growth (MiB)", figures["worker_rss_growth_mib"]],
                ]
            )
        )
        print(verdict(len(posts) > 0, "the burst was told"))
        print(
            verdict(s["p99"] <= 2000 + WINDOW * 1000, f"p99 {s['p99']} ms ≤ 2 s plus the {WINDOW} s window")
        )
        print(verdict(figures["worker_rss_growth_mib"] <= 20, "memory growth ≤ 20 MiB"))
        save("subscriptions", figures)
    finally:
        stack.close()


if __name__ == "__main__":
    main()
