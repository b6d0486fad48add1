"""Signed slash-command requests, as Slack sends them, for the benchmarks."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from urllib.parse import urlencode

SECRET = "bench-signing-secret-0123456789"  # the benchmark's own app secret


def signed_command(
    text: str, response_url: str, channel: str = "C0BENCH", user: str = "U0ANA", team: str = "T0TEAM"
) -> tuple[str, dict[str, str]]:
    body = urlencode(
        {
            "token": "bench",
            "team_id": team,
            "team_domain": "acme",
            "channel_id": channel,
            "channel_name": "eng",
            "user_id": user,
            "user_name": "ana",
            "command": "/ticket",
            "text": text,
            "api_app_id": "A0TICKETBOT",
            "response_url": response_url,
            "trigger_id": f"{time.time():.0f}.{uuid.uuid4().hex}",
        }
    )
    stamp = str(int(time.time()))
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }
    return body, headers


def signed_payload(payload: dict[str, object]) -> tuple[str, dict[str, str]]:
    """An interactivity request (block_actions, block_suggestion, …) as Slack signs it."""
    import json

    body = urlencode({"payload": json.dumps(payload)})
    stamp = str(int(time.time()))
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return body, {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }


def suggestion(block_id: str, value: str, metadata: str) -> dict[str, object]:
    team = {"id": "T0TEAM", "domain": "acme"}
    view = {
        "id": "V0BENCH",
        "type": "modal",
        "callback_id": "ticket_edit",
        "private_metadata": metadata,
        "blocks": [],
        # Slack's view hash changes as the form does. Without something that differs, two
        # suggestions for the same text within a second are the same bytes, which the bot's
        # replay guard answers with nothing: a load of such copies measures the guard.
        "hash": f"{time.time():.6f}.{uuid.uuid4().hex[:8]}",
    }
    return {
        "type": "block_suggestion",
        "user": {"id": "U0ANA", "username": "ana", "team_id": "T0TEAM"},
        "container": {"type": "view", "view_id": "V0BENCH"},
        "api_app_id": "A0TICKETBOT",
        "token": "bench",
        "action_id": "value",
        "block_id": block_id,
        "value": value,
        "team": team,
        "view": view,
    }


def signed_event(inner: dict[str, object], team: str = "T0TEAM") -> tuple[str, dict[str, str]]:
    """An Events API delivery (`event_callback`) around `inner`, as Slack signs it."""
    import json

    body = json.dumps(
        {
            "token": "bench",
            "team_id": team,
            "api_app_id": "A0TICKETBOT",
            "event": inner,
            "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:12].upper()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": team, "user_id": "UBOT", "is_bot": True}],
        }
    )
    stamp = str(int(time.time()))
    signature = "v0=" + hmac.new(SECRET.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return body, {
        "Content-Type": "application/json",
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": signature,
    }
