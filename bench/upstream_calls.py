"""Upstream calls per operation, counted at the sandbox and the fake Slack API.

    python bench/upstream_calls.py

Targets: warm `/ticket update` = 1 ticketing call (the PATCH) + 1 Slack call; a cold ticket adds
one GET; opening the form = 1 ticket fetch + views.open + views.update; a live select = 0
ticketing calls. (tests/scenarios asserts the same counts in the suite.)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import SECRET, Stack, save, table, verdict
from bench.signing import signed_command, signed_payload, suggestion
from bot.slack.signing import Signer


def settle(stack: Stack, seconds: float = 1.0) -> None:
    time.sleep(seconds)


def counts(stack: Stack) -> tuple[list[str], list[str]]:
    api = [
        f"{c['method']} {c['path'].rsplit('/', 1)[-1] if 'tickets/' in c['path'] else c['path']}"
        for c in stack.sandbox_calls()
    ]
    slack = [c["method"] for c in stack.slack_calls() if c["method"] != "auth.test"]
    return api, slack


def main() -> None:
    stack = Stack(latency=0.0)
    rows: list[list[object]] = [["operation", "ticketing API calls", "Slack calls"]]
    figures: dict[str, dict[str, list[str]]] = {}
    try:
        server = stack.start("ticketbot")
        with httpx.Client(timeout=30) as http:

            def command(text: str) -> None:
                token = time.monotonic_ns()
                body, headers = signed_command(text, f"{stack.slack_url}/response/{token}")
                http.post(server.events_url, content=body, headers=headers)
                deadline = time.monotonic() + 20
                # The card is posted in the channel as the bot; a form ends with views.update.
                done = ("views.update",) if text.startswith("edit") else ("chat.postMessage",)
                while time.monotonic() < deadline:
                    calls = stack.slack_calls()
                    if any(c["path"] == f"/response/{token}" or c["method"] in done for c in calls):
                        break
                    time.sleep(0.02)
                settle(stack, 0.3)

            command("PROJ-42 status=done priority=low assignee=me")  # warms lookups, users.info, snapshot
            for name, text in [
                ("warm update", "PROJ-42 status=todo priority=high"),
                ("update, ticket not seen", "PROJ-41 status=done"),
            ]:
                stack.reset_counts()
                command(text)
                figures[name] = dict(zip(("api", "slack"), counts(stack), strict=True))
            command("edit PROJ-7")  # the form's lists (teams, types, tags) are cached from here on
            stack.reset_counts()
            command("edit PROJ-42")
            figures["open the edit form"] = dict(zip(("api", "slack"), counts(stack), strict=True))
            stack.reset_counts()
            metadata = Signer(SECRET).sign({"a": "default", "t": "PROJ-42", "c": "C0BENCH", "u": "U0ANA"})
            for typed in ("a", "an", "ana"):
                body, headers = signed_payload(suggestion("field_assignees", typed, metadata))
                assert http.post(server.events_url, content=body, headers=headers).status_code == 200
            settle(stack, 0.3)
            figures["live select (3 keystrokes)"] = dict(zip(("api", "slack"), counts(stack), strict=True))
    finally:
        stack.close()
    for name, found in figures.items():
        rows.append([name, ", ".join(found["api"]) or "none", ", ".join(found["slack"]) or "none"])
    print(table(rows))
    print()
    print(
        verdict(
            figures["warm update"] == {"api": ["PATCH PROJ-42"], "slack": ["chat.postMessage"]},
            "warm update: 1 PATCH + 1 Slack call",
        )
    )
    print(
        verdict(
            figures["update, ticket not seen"]["api"] == ["GET PROJ-41", "PATCH PROJ-41"],
            "unseen ticket: GET + PATCH",
        )
    )
    print(
        verdict(
            figures["open the edit form"]
            == {"api": ["GET PROJ-42"], "slack": ["views.open", "views.update"]},
            "form: 1 GET + views.open + views.update",
        )
    )
    print(verdict(figures["live select (3 keystrokes)"]["api"] == [], "live select: no ticketing call"))
    save("upstream_calls", {"figures": figures})


if __name__ == "__main__":
    main()
