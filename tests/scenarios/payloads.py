"""Realistic Slack payloads, and signing them the way Slack does."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
import uuid
from typing import Any
from urllib.parse import urlencode

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # a test secret, as Slack's docs shape them
TEAM = {"id": "T0TEAM", "domain": "acme"}
ANA = {"id": "U0ANA", "username": "ana", "name": "ana", "team_id": "T0TEAM"}
BRUNO = {"id": "U0BRUNO", "username": "bruno", "name": "bruno", "team_id": "T0TEAM"}


def sign(body: str, secret: str = SIGNING_SECRET, timestamp: int | None = None) -> dict[str, str]:
    stamp = str(timestamp if timestamp is not None else int(time.time()))
    base = f"v0:{stamp}:{body}".encode()
    signature = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": signature}


def trigger_id() -> str:
    return f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}"


def slash_command(text: str, channel: str, response_url: str, user: dict[str, str] = ANA) -> str:
    return urlencode(
        {
            "token": "gIkuvaNzQIHg97ATvDxqgjtO",
            "team_id": TEAM["id"],
            "team_domain": TEAM["domain"],
            "channel_id": channel,
            "channel_name": "eng",
            "user_id": user["id"],
            "user_name": user["username"],
            "command": "/ticket",
            "text": text,
            "api_app_id": "A0TICKETBOT",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": trigger_id(),
        }
    )


def form(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


def block_actions(
    action: dict[str, Any],
    *,
    channel: str,
    response_url: str,
    message: dict[str, Any] | None = None,
    ephemeral: bool = False,
    user: dict[str, str] = ANA,
) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": user,
        "api_app_id": "A0TICKETBOT",
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "container": {
            "type": "message",
            "message_ts": "1732770000.000100",
            "channel_id": channel,
            "is_ephemeral": ephemeral,
        },
        "trigger_id": trigger_id(),
        "team": TEAM,
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "eng"},
        "response_url": response_url,
        "actions": [{**action, "action_ts": f"{time.time():.6f}"}],
    }
    if message is not None:
        payload["message"] = message
    return payload


def view_submission(
    view: dict[str, Any], values: dict[str, Any], user: dict[str, str] = ANA
) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "team": TEAM,
        "user": user,
        "api_app_id": "A0TICKETBOT",
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "trigger_id": trigger_id(),
        "view": {
            **view,
            "id": view.get("id", "V0EDIT"),
            "team_id": TEAM["id"],
            "hash": view.get("hash", "1732770000.abc"),
            "state": {"values": values},
        },
        "response_urls": [],
        "is_enterprise_install": False,
    }


def block_suggestion(
    view: dict[str, Any], block_id: str, value: str, user: dict[str, str] = ANA
) -> dict[str, Any]:
    return {
        "type": "block_suggestion",
        "user": user,
        "container": {"type": "view", "view_id": view.get("id", "V0EDIT")},
        "api_app_id": "A0TICKETBOT",
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "action_id": "value",
        "block_id": block_id,
        "value": value,
        "team": TEAM,
        "view": {**view, "id": view.get("id", "V0EDIT"), "team_id": TEAM["id"]},
    }


def message_action(
    message: dict[str, Any], *, channel: str, response_url: str, user: dict[str, str] = ANA
) -> dict[str, Any]:
    return {
        "type": "message_action",
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "action_ts": f"{time.time():.6f}",
        "team": TEAM,
        "user": user,
        "channel": {"id": channel, "name": "eng"},
        "is_enterprise_install": False,
        "callback_id": "update_ticket",
        "trigger_id": trigger_id(),
        "response_url": response_url,
        "message_ts": message.get("ts", "1732770000.000200"),
        "message": {"type": "message", "user": "U0BRUNO", "ts": "1732770000.000200", **message},
    }


def link_shared(urls: list[str], *, channel: str, event_id: str | None = None) -> dict[str, Any]:
    return {
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "team_id": TEAM["id"],
        "api_app_id": "A0TICKETBOT",
        "event": {
            "type": "link_shared",
            "channel": channel,
            "is_bot_user_member": True,
            "user": "U0BRUNO",
            "message_ts": "1732770000.000300",
            "unfurl_id": None,
            "source": "conversations_history",
            "links": [{"domain": url.split("/")[2], "url": url} for url in urls],
            "event_ts": f"{time.time():.6f}",
        },
        "type": "event_callback",
        "event_id": event_id or f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": TEAM["id"], "user_id": "UBOT", "is_bot": True}],
    }


WEBHOOK_SECRET = "3b1f0c8e6d2a4b7c9e0f1a2b3c4d5e6f"  # the unified API webhook's secret, in tests


def record_event(
    action: str,
    ticket: dict[str, Any] | str,
    *,
    account: str = "sandbox-jira",
    event_id: str | None = None,
    created_at: str | None = None,
) -> bytes:
    """A `record:*` delivery of the unified API, as the bytes it sends."""
    record = ticket if isinstance(ticket, dict) else {"id": ticket}
    envelope = {
        "id": event_id or f"evt_{uuid.uuid4().hex}",
        "event": f"record:{action}",
        "payload": {
            "integrated_account_id": account,
            "unified_model": "ticketing",
            "resource": "tickets",
            "record": record,
        },
        "environment_id": "env-1",
        "webhook_id": "wh-1",
        "created_at": created_at or time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }
    return json.dumps(envelope).encode()


def sign_truto(body: bytes, secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return {"X-Truto-Signature": f"format=sha256,v={digest}", "Content-Type": "application/json"}
