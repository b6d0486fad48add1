"""The sandbox's webhooks: `POST/GET/DELETE /webhook` as documented, and signed `record:*`
deliveries to every active webhook when a ticket changes (through the API, or through the
sandbox's control endpoints, which stand for a change made in the tool itself).

A delivery is `{id, event, payload, environment_id, webhook_id, created_at}` with
`X-Truto-Signature: format=sha256,v=<HMAC-SHA256 of the body>`, retried 3 times on a non-2xx,
as documented. The `record:*` payload is not documented publicly; the sandbox sends one
plausible shape (`integrated_account_id`, `resource` "tickets", `unified_model` "ticketing",
`record`), which is one of the several the bot accepts.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import hmac
import json
import secrets
import ssl
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

ENVIRONMENT_ID = "sandbox-environment"
RETRIES = 3
Obj = dict[str, Any]


def signature(body: bytes, secret: str) -> str:
    """`X-Truto-Signature` as documented: `format=sha256,v=` and the lowercase hex HMAC-SHA256 of
    the raw body under the webhook's secret (the sandbox's own code: the bot's verifier must
    agree with the document, not with itself)."""
    return "format=sha256,v=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _now_text() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S")


@functools.cache
def _tls() -> ssl.SSLContext:
    """One TLS context for every delivery (loading the CA bundle takes about 50 ms)."""
    return ssl.create_default_context()


@dataclass
class Delivery:
    webhook_id: str
    event: str
    body: bytes
    statuses: list[int | str] = field(default_factory=list)


@dataclass
class Webhooks:
    registered: dict[str, Obj] = field(default_factory=dict)  # id → webhook, secret included
    deliveries: list[Delivery] = field(default_factory=list)
    in_flight: int = 0
    retry_delay: float = 0.2
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, data: Obj) -> Obj:
        webhook_id = str(uuid.uuid4())
        webhook: Obj = {
            "id": webhook_id,
            "target_url": str(data["target_url"]),
            "is_active": bool(data.get("is_active", True)),
            "event_types": list(data.get("event_types") or []),
            "environment_id": ENVIRONMENT_ID,
            "secret": secrets.token_hex(32),
            "created_at": _now_text(),
            "updated_at": _now_text(),
        }
        self.registered[webhook_id] = webhook
        return dict(webhook)

    @staticmethod
    def update_problem(changes: Obj | None) -> str | None:
        """What is wrong with a PATCH /webhook/:id body (None: nothing)."""
        if not isinstance(changes, dict):
            return "The request body must be a JSON object"
        allowed = {"target_url", "is_active", "event_types"}
        if set(changes) - allowed:
            return f"Only {', '.join(sorted(allowed))} can be updated"
        target = changes.get("target_url", "https://")
        if not isinstance(target, str) or not target.startswith(("http://", "https://")):
            return "target_url must be an http(s) URL"
        if not isinstance(changes.get("is_active", True), bool):
            return "is_active must be a boolean"
        types = changes.get("event_types", [])
        if not isinstance(types, list) or not all(isinstance(t, str) for t in types):
            return "event_types must be a list of strings"
        return None

    def update(self, webhook_id: str, changes: Obj) -> None:
        self.registered[webhook_id].update(changes, updated_at=_now_text())

    async def send_test(self, webhook: Obj) -> int | None:
        """The documented test event (`test`, payload `{"foo": "bar"}`), sent once; the target's
        status, or None when it could not be reached."""
        delivery = Delivery(
            webhook["id"], "test", json.dumps(self._envelope(webhook, "test", {"foo": "bar"})).encode()
        )
        self.deliveries.append(delivery)
        await self._deliver(webhook, delivery, retries=0)
        last = delivery.statuses[-1] if delivery.statuses else None
        return last if isinstance(last, int) else None

    @staticmethod
    def _envelope(webhook: Obj, event: str, payload: Obj) -> Obj:
        return {
            "id": f"evt_{uuid.uuid4().hex}",
            "event": event,
            "payload": payload,
            "environment_id": ENVIRONMENT_ID,
            "webhook_id": webhook["id"],
            "created_at": _now_text(),
        }

    @staticmethod
    def public(webhook: Obj) -> Obj:
        """List and get answers leave the secret out."""
        return {k: v for k, v in webhook.items() if k != "secret"}

    def reset(self) -> None:
        self.registered.clear()
        self.deliveries.clear()

    def emit(self, action: str, integrated_account_id: str, record: Obj, resource: str = "tickets") -> None:
        """Send `record:<action>` for a ticket (or a comment, `resource` "comments", its ticket
        as `record.ticket.id`) to every webhook that wants it (in the background of the
        sandbox's event loop)."""
        event = f"record:{action}"
        for webhook in list(self.registered.values()):
            payload = {
                "integrated_account_id": integrated_account_id,
                "unified_model": "ticketing",
                "resource": resource,
                "record": record,
            }
            self._send(webhook, event, payload, "record:*")

    def emit_account(self, event: str, payload: Obj) -> None:
        """Send an `integrated_account:*` event (the connection flow's) to every webhook that
        wants it."""
        for webhook in list(self.registered.values()):
            self._send(webhook, event, payload, "integrated_account:*")

    def _send(self, webhook: Obj, event: str, payload: Obj, family: str) -> None:
        """Deliver in the background of the sandbox's loop, if the webhook wants the event (its
        event_types name it, or its family, or nothing)."""
        wanted = webhook["event_types"]
        if not webhook["is_active"] or (wanted and event not in wanted and family not in wanted):
            return
        envelope = self._envelope(webhook, event, payload)
        delivery = Delivery(webhook["id"], event, json.dumps(envelope).encode())
        self.deliveries.append(delivery)
        task = asyncio.get_running_loop().create_task(self._deliver(webhook, delivery))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _deliver(self, webhook: Obj, delivery: Delivery, retries: int = RETRIES) -> None:
        with self._lock:
            self.in_flight += 1
        headers = {
            "Content-Type": "application/json",
            "User-Agent": "truto",
            "X-Truto-Signature": signature(delivery.body, webhook["secret"]),
        }
        try:
            async with httpx.AsyncClient(timeout=10.0, verify=_tls()) as http:
                for attempt in range(1 + retries):
                    try:
                        response = await http.post(
                            webhook["target_url"], content=delivery.body, headers=headers
                        )
                        delivery.statuses.append(response.status_code)
                        if response.is_success:
                            return
                    except httpx.HTTPError as exc:
                        delivery.statuses.append(type(exc).__name__)
                    if attempt < retries:
                        await asyncio.sleep(self.retry_delay)
        finally:
            with self._lock:
                self.in_flight -= 1
