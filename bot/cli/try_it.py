"""`ticketbot try "/ticket update PROJ-42 status=done"`: send the bot what Slack would (a slash
command signed with SLACK_SIGNING_SECRET, or the same payload over Socket Mode through the fake
Slack), then print what the bot answered and what it did in Slack: the ack, and each Web API
call and response_url post the fake Slack recorded meanwhile, with its text and blocks."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import httpx
from slack_sdk.signature import SignatureVerifier

Out = Callable[[str], None]


def slash_payload(text: str, channel: str, user: str, response_url: str) -> dict[str, str]:
    """A slash command's fields, as Slack sends them."""
    return {
        "token": "ticketbot-try",
        "team_id": "T0TRY",
        "team_domain": "try",
        "channel_id": channel,
        "channel_name": "try",
        "user_id": user,
        "user_name": user.lower(),
        "command": "/ticket",
        "text": text.removeprefix("/ticket").strip(),
        "api_app_id": "A0TRY",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}",
    }


def signed(body: str, secret: str) -> dict[str, str]:
    stamp = str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": str(signature)}


def _texts(blocks: Any) -> list[str]:
    """The words of a message's blocks, one line each (sections, fields, context)."""
    lines: list[str] = []
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict):
            continue
        text = block.get("text")
        if isinstance(text, dict) and text.get("text"):
            lines.append(str(text["text"]))
        for item in block.get("fields") or block.get("elements") or []:
            if isinstance(item, dict) and item.get("type") in ("mrkdwn", "plain_text"):
                lines.append(str(item.get("text")).replace("\n", " "))
            elif isinstance(item, dict) and item.get("type") == "button":
                lines.append(f"[{(item.get('text') or {}).get('text')}]")
    return lines


def describe(call: dict[str, Any]) -> list[str]:
    args = call.get("args") or {}
    where = args.get("channel") or ("response_url" if call.get("method") == "response" else "")
    head = f"{call.get('method')}{f' ({where})' if where else ''}: {args.get('text') or ''}".rstrip(": ")
    body = args.get("blocks") or (args.get("view") or {}).get("blocks")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            body = None
    return [head, *(f"    {line}" for line in _texts(body))]


def try_command(
    text: str,
    *,
    bot_url: str,
    fake_url: str,
    secret: str | None,
    channel: str = "C0TRY",
    user: str = "U0ANA",
    socket: bool = False,
    wait: float = 5.0,
    out: Out = print,
) -> int:
    fake = fake_url.rstrip("/")
    with httpx.Client(timeout=10) as http:
        try:
            seen = len(http.get(f"{fake}/_fake/calls").json())
        except httpx.HTTPError:
            out(f"✗ no fake Slack at {fake}: start one with `ticketbot fake-slack`")
            return 1
        response_url = f"{fake}/commands/T0TRY/{uuid.uuid4().int % 10**6}/{uuid.uuid4().hex[:24]}"
        payload = slash_payload(text, channel, user, response_url)
        if socket:
            answer = http.post(f"{fake}/_fake/socket/slash_commands", json=payload)
            out(f"acknowledged over Socket Mode ({answer.status_code}): {answer.text}")
        else:
            if not secret:
                out("✗ SLACK_SIGNING_SECRET is not set: the bot refuses what is not signed with it")
                return 1
            body = urlencode(payload)
            headers = {**signed(body, secret), "Content-Type": "application/x-www-form-urlencoded"}
            try:
                answer = http.post(f"{bot_url.rstrip('/')}/slack/events", content=body, headers=headers)
            except httpx.HTTPError as exc:
                out(f"✗ the bot at {bot_url} did not answer ({type(exc).__name__}): is it serving?")
                return 1
            out(f"ack {answer.status_code}: {answer.text or '(empty: the answer follows)'}")
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            time.sleep(0.25)
            calls = http.get(f"{fake}/_fake/calls").json()
            for call in calls[seen:]:
                for line in describe(call):
                    out(line)
            seen = len(calls)
    return 0
