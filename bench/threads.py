"""Synced threads at load: 200 threads synced with 60 tickets, then 1,000 replies written in them
and 1,000 comments written in the tool, interleaved, within the account's rate limit.

    python bench/threads.py [--smoke]

A real `ticketbot serve` (its worker processes) and the stubs; the sandbox answers in 50 ms and
enforces 600 requests a 10 s (the bot's own limit for the account is the same). Each reply is a
signed `message` event in one of the threads (about 20 a second); each tool comment is written
through the sandbox's control endpoint, which signs and delivers its `record:created` webhook.
Timed: reply → its comment's POST at the sandbox, and comment → its first line in a thread at the
fake Slack (both clocks are the machine's monotonic one). Targets (#42): p99 of each ≤ 2 s plus
the API's latency (the reply's POST waits for the API; a comment's line includes the webhook
coalescing window, 1 s), no comment twice, nothing echoed, no 429 from the sandbox.
"""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import Stack, free_port, pause, save, sized, stats_ms, table, verdict
from bench.signing import signed_command, signed_event, signed_payload
from bot.sandbox import SANDBOX_TOKEN

TICKETS = sized(60, 4)
THREADS = sized(200, 8)
REPLIES = sized(1000, 20)
COMMENTS = sized(1000, 20)
RATE = 20.0  # replies (and comments) a second
API_LATENCY = 0.05
COMMENTS_PATH = "/unified/ticketing/comments"


def sync_click(value: str, channel: str, ts: str) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "team": {"id": "T0TEAM", "domain": "acme"},
        "user": {"id": "U0ANA", "name": "ana"},
        "api_app_id": "A0TICKETBOT",
        "container": {"type": "message", "message_ts": ts, "channel_id": channel, "is_ephemeral": False},
        "channel": {"id": channel},
        "message": {"type": "message", "ts": ts},
        "trigger_id": "1.2.3",
        "response_url": "http://127.0.0.1:9/unused",
        "actions": [
            {
                "action_id": "ticket_sync_thread",
                "value": value,
                "type": "button",
                "action_ts": f"{time.time():.6f}",
            }
        ],
    }


def main() -> None:
    stack = Stack(latency=API_LATENCY, enforce_rate="600/10")
    try:
        port = free_port()
        bot = f"http://127.0.0.1:{port}/slack/events"
        created = httpx.post(
            f"{stack.sandbox_url}/webhook",
            json={"target_url": f"http://127.0.0.1:{port}/truto/webhooks", "event_types": ["record:created"]},
            headers={"Authorization": f"Bearer {SANDBOX_TOKEN}"},
        ).json()
        stack.start("ticketbot", port, TRUTO_WEBHOOK_SECRET=created["secret"], TRUTO_RATE_LIMIT="600")
        with httpx.Client(timeout=30) as http:
            values: dict[int, str] = {}
            for n in range(1, TICKETS + 1):  # a card (its compact line) per ticket, for its Sync value
                body, headers = signed_command(f"PROJ-{n} priority=high", f"{stack.slack_url}/response/c{n}")
                http.post(bot, content=body, headers=headers)
            deadline = time.monotonic() + 60
            while len(values) < TICKETS and time.monotonic() < deadline:
                for call in stack.slack_calls():
                    blocks = call["args"].get("blocks")
                    blocks = json.loads(blocks) if isinstance(blocks, str) else blocks or []
                    text = str(call["args"].get("text") or "")
                    for block in blocks:
                        for element in block.get("elements") or []:
                            if element.get("action_id") == "ticket_sync_thread":
                                key = text.split(":")[0].split(" ")[0]
                                if key.startswith("PROJ-"):
                                    values[int(key.split("-")[1])] = element["value"]
                time.sleep(0.2)
            assert len(values) == TICKETS, f"cards with Sync thread: {len(values)} of {TICKETS}"
            threads: list[tuple[str, str, int]] = []
            for i in range(THREADS):
                ticket = i % TICKETS + 1
                channel, ts = f"C0T{i % 10}", f"1700000000.{i:06d}"
                body, headers = signed_payload(sync_click(values[ticket], channel, ts))
                http.post(bot, content=body, headers=headers)
                threads.append((channel, ts, ticket))
            pause(3.0)
            synced = [
                c
                for c in stack.slack_calls()
                if str(c["args"].get("text", "")).startswith("This thread is synced")
            ]
            stack.reset_counts()

            sent_replies: dict[str, float] = {}
            sent_comments: dict[str, float] = {}

            def reply(n: int) -> None:
                channel, ts, _ = threads[n % len(threads)]
                tag = f"r{n:05d}"
                inner = {
                    "type": "message",
                    "channel": channel,
                    "user": "U0ANA",
                    "text": f"{tag} looks good",
                    "ts": f"{time.time():.6f}",
                    "thread_ts": ts,
                    "channel_type": "channel",
                }
                body, headers = signed_event(inner)
                sent_replies[tag] = time.monotonic()
                http.post(bot, content=body, headers=headers)

            def comment(n: int) -> None:
                _, _, ticket = threads[n % len(threads)]
                tag = f"t{n:05d}"
                sent_comments[tag] = time.monotonic()
                http.post(
                    f"{stack.sandbox_url}/_sandbox/comments/sandbox-jira/PROJ-{ticket}",
                    json={"body": f"{tag} deployed", "author": {"name": "Carla Mendes"}},
                )

            started = time.monotonic()
            with ThreadPoolExecutor(max_workers=8) as pool:
                for n in range(max(REPLIES, COMMENTS)):
                    due = started + n / RATE
                    if (wait := due - time.monotonic()) > 0:
                        time.sleep(wait)
                    if n < REPLIES:
                        pool.submit(reply, n)
                    if n < COMMENTS:
                        pool.submit(comment, n)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                posted = [
                    c for c in stack.sandbox_calls() if c["method"] == "POST" and c["path"] == COMMENTS_PATH
                ]
                lines = [c for c in stack.slack_calls() if c["method"] == "chat.postMessage"]
                if (
                    len(posted) >= REPLIES
                    and len({str(c["args"].get("text", ""))[:60] for c in lines}) >= COMMENTS
                ):
                    break
                time.sleep(0.5)
            pause(3.0)
            calls = stack.sandbox_calls()
            posted = [
                c
                for c in calls
                if c["method"] == "POST" and c["path"] == COMMENTS_PATH and c["status"] == 201
            ]
            lines = [c for c in stack.slack_calls() if c["method"] == "chat.postMessage"]
        reply_ms: list[float] = []
        seen_tags: list[str] = []
        for call in posted:
            text = str((call.get("body") or {}).get("body") or "")
            tag = next((w for w in text.split() if w.startswith("r") and w[1:].isdigit()), None)
            if tag in sent_replies:
                seen_tags.append(tag)
                reply_ms.append(call["at"] - sent_replies[tag])
        first_line: dict[str, float] = {}
        echoed = 0
        for call in lines:
            text = str(call["args"].get("text") or "")
            if " in Jira on PROJ-" not in text:
                continue
            words = text.split(": ", 1)[-1].split()
            tag = words[0] if words else ""
            if tag.startswith("r"):
                echoed += 1  # the bot's own comment posted back
            elif tag in sent_comments:
                first_line.setdefault(tag, call["at"])
        comment_ms = [at - sent_comments[tag] for tag, at in first_line.items()]
        figures = {
            "threads": THREADS,
            "threads_synced": len(synced),
            "replies": REPLIES,
            "comments_created": len(posted),
            "replies_twice": len(seen_tags) - len(set(seen_tags)),
            "reply_to_comment_ms": stats_ms(reply_ms),
            "tool_comments": COMMENTS,
            "tool_comments_in_a_thread": len(first_line),
            "echoes": echoed,
            "comment_to_thread_ms": stats_ms(comment_ms),
            "api_429": len([c for c in calls if c["status"] == 429]),
            "api_calls": len(calls),
        }
    finally:
        stack.close()
    rows = [["measure", "value"]] + [[k, v] for k, v in figures.items()]
    print(table(rows))
    print()
    limit = (2.0 + API_LATENCY) * 1000
    reply_p99 = figures["reply_to_comment_ms"]["p99"]
    comment_p99 = figures["comment_to_thread_ms"]["p99"]
    print(
        verdict(
            figures["threads_synced"] == THREADS, f"{figures['threads_synced']} of {THREADS} threads synced"
        )
    )
    print(
        verdict(
            figures["comments_created"] == REPLIES and not figures["replies_twice"],
            f"{figures['comments_created']} comments for {REPLIES} replies, none twice",
        )
    )
    print(
        verdict(
            figures["tool_comments_in_a_thread"] == COMMENTS and not figures["echoes"],
            f"{figures['tool_comments_in_a_thread']} of {COMMENTS} tool comments in a thread, {figures['echoes']} echoes",
        )
    )
    print(verdict(reply_p99 <= limit, f"reply → comment p99 {reply_p99} ms (≤ {limit:.0f})"))
    print(
        verdict(
            comment_p99 <= limit + 1000,
            f"comment → thread p99 {comment_p99} ms (≤ {limit + 1000:.0f}, the 1 s coalescing window included)",
        )
    )
    print(verdict(figures["api_429"] == 0, f"{figures['api_429']} answers 429 from the API"))
    save("threads", figures)


if __name__ == "__main__":
    main()
