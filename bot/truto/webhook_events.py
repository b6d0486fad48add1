"""The unified API's webhook deliveries: their signature, their envelope, and the ticket a
`record:*` event is about. Pure functions: nothing here reads the network or Redis.

Documented (webhooks-and-notifications.md): the body is `{id, event, payload, environment_id,
webhook_id, created_at}` and `X-Truto-Signature: format=sha256,v=<hex>` is the HMAC-SHA256 of the
raw body with the webhook's secret. Not documented publicly: the payload of `record:*` events,
and the time zone of `created_at` ("2024-09-10 12:00:00"). Both are read in every plausible
shape (see `ticket_event` and `parse_time`); nothing else relies on one of them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

SIGNATURE_HEADER = "x-truto-signature"
RECORD_PREFIX = "record:"
Action = Literal["created", "updated", "deleted"]
ACTIONS: tuple[Action, ...] = ("created", "updated", "deleted")


def sign(body: bytes, secret: str) -> str:
    """The header value the unified API sends with `body` (the sandbox signs this way too)."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"format=sha256,v={digest}"


def signature_valid(body: bytes, header: str | None, secrets: Sequence[str]) -> bool:
    """True when `header` carries the HMAC of the raw `body` under one of `secrets` (several
    are configured while a secret is being rotated). The documented form is lowercase hex; the
    same digest in uppercase hex or base64 is accepted too (one public integrator decodes `v=` as
    base64): another spelling of the same 32 bytes weakens nothing. Compared as bytes: a header
    that is not ASCII is no signature (and no error)."""
    if not header or not secrets or len(header) > 512:
        return False
    try:
        raw = header.encode("ascii")
    except UnicodeEncodeError:
        return False
    parts = dict(part.strip().partition(b"=")[::2] for part in raw.split(b","))
    if parts.get(b"format", b"sha256") != b"sha256":
        return False
    given = parts.get(b"v", b"")
    for secret in secrets:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        spellings = (digest.hex().encode(), digest.hex().upper().encode(), base64.b64encode(digest))
        if any(hmac.compare_digest(spelling, given) for spelling in spellings):
            return True
    return False


def parse_time(value: Any) -> datetime | None:
    """`created_at` as the API writes it ("2024-09-10 12:00:00", taken as UTC: the documents show
    no zone), or ISO 8601 with a zone, or epoch seconds/milliseconds."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 10**11 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value or len(value) > 64:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Delivery:
    """A verified delivery's envelope."""

    id: str
    event: str
    payload: Mapping[str, Any]
    created_at: datetime | None
    envelope: Mapping[str, Any] = field(default_factory=dict)  # the delivery's other fields

    @classmethod
    def parse(cls, data: Any) -> Delivery | None:
        if not isinstance(data, dict):
            return None
        event_id, event = data.get("id"), data.get("event")
        if not isinstance(event_id, str | int) or not isinstance(event, str) or not str(event_id):
            return None
        payload = data.get("payload")
        return cls(
            id=str(event_id)[:200],
            event=event[:100],
            payload=payload if isinstance(payload, dict) else {},
            created_at=parse_time(data.get("created_at")),
            envelope={k: v for k, v in data.items() if k not in ("payload", "id", "event")},
        )

    def age(self, now: datetime) -> float | None:
        return (now - self.created_at).total_seconds() if self.created_at is not None else None


@dataclass(frozen=True)
class TicketEvent:
    """A ticket of an integrated account was created, updated or deleted in its tool."""

    integrated_account_id: str
    ticket_id: str
    action: Action


def _text(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str | int) and str(value).strip():
        return str(value).strip()[:200]
    return None


def _about(payload: Mapping[str, Any], name: str) -> bool:
    """The resource is the ticketing model's `name`: `resource` "tickets" (or "comments") with
    a model (or unified_model) "ticketing", or "ticketing/tickets"."""
    resource = str(payload.get("resource") or "").strip("/").lower()
    model = str(payload.get("model") or payload.get("unified_model") or "").lower()
    if resource == f"ticketing/{name}":
        return True
    return resource == name and model in ("", "ticketing")


def _about_tickets(payload: Mapping[str, Any]) -> bool:
    return _about(payload, "tickets")


def _named_account(data: Mapping[str, Any]) -> str | None:
    found = _text(data.get("integrated_account_id"))
    nested = data.get("integrated_account")
    if found is None and isinstance(nested, dict):
        found = _text(nested.get("id"))
    return found


def account_of(delivery: Delivery) -> str | None:
    """The integrated account a `record:*` event is about: the payload's `integrated_account_id`
    (the documented shape) or `integrated_account.id`; else the delivery's own context, where an
    inbound webhook's event carries it outside the payload (the envelope, or a `context` object
    beside the record). Where each appears is not documented: every plausible place is read,
    none is relied on."""
    places = [delivery.payload, delivery.envelope]
    places += [p["context"] for p in places[:2] if isinstance(p.get("context"), dict)]
    return next((found for place in places if (found := _named_account(place)) is not None), None)


def ignored_because(delivery: Delivery) -> str:
    """Why a delivery names no ticket of any account (for the count of what was ignored)."""
    if not delivery.event.startswith(RECORD_PREFIX):
        return "not a record event"
    if delivery.event[len(RECORD_PREFIX) :] not in ACTIONS:
        return "not created, updated or deleted"
    if not _about_tickets(delivery.payload):
        return "not about tickets"
    if account_of(delivery) is None:
        return "no integrated account named"
    return "no ticket named"


def _records_of(payload: Mapping[str, Any]) -> Sequence[Mapping[str, Any]]:
    """The records an event carries: `record`, else `records[]`, else `data` (an object or a
    list): the documented shape is the first; the others are read rather than relied on."""
    for name in ("record", "records", "data"):
        value = payload.get(name)
        if isinstance(value, dict):
            return [value]
        if isinstance(value, list):
            return [v for v in value if isinstance(v, dict)][:50]
    return []


def ticket_events(delivery: Delivery) -> list[TicketEvent]:
    """The tickets a `record:*` event names (usually one); none for other events, other
    resources, or a payload that names no account or no ticket."""
    if not delivery.event.startswith(RECORD_PREFIX):
        return []
    action = delivery.event[len(RECORD_PREFIX) :]
    if action not in ACTIONS:
        return []
    payload = delivery.payload
    if not _about_tickets(payload):
        return []
    account = account_of(delivery)
    if account is None:
        return []
    tickets = [_text(record.get("id")) for record in _records_of(payload)]
    if not any(tickets):
        tickets = [
            next((_text(payload.get(n)) for n in ("id", "record_id", "resource_id") if payload.get(n)), None)
        ]
    return [TicketEvent(account, ticket, action) for ticket in dict.fromkeys(tickets) if ticket]


def ticket_event(delivery: Delivery) -> TicketEvent | None:
    """The first ticket a `record:*` event names (see ticket_events)."""
    events = ticket_events(delivery)
    return events[0] if events else None


@dataclass(frozen=True)
class CommentEvent:
    """A comment on a ticket of an integrated account was created, updated or deleted."""

    integrated_account_id: str
    ticket_id: str
    comment_id: str
    action: Action
    record: Mapping[str, Any]


def _ticket_of_comment(record: Mapping[str, Any]) -> str | None:
    """The comment's ticket: `ticket.id` (the unified comment's shape), else `ticket_id`."""
    ticket = record.get("ticket")
    if isinstance(ticket, dict):
        return _text(ticket.get("id"))
    return _text(ticket) or _text(record.get("ticket_id"))


def comment_events(delivery: Delivery) -> list[CommentEvent]:
    """The comments a `record:*` event on the ticketing model's comments names, each with its
    ticket (read as the ticket events are: the payload's shape is not documented publicly; a
    comment that names no ticket is left out)."""
    if not delivery.event.startswith(RECORD_PREFIX):
        return []
    action = delivery.event[len(RECORD_PREFIX) :]
    if action not in ACTIONS or not _about(delivery.payload, "comments"):
        return []
    account = account_of(delivery)
    if account is None:
        return []
    found: dict[str, CommentEvent] = {}
    for record in _records_of(delivery.payload):
        comment, ticket = _text(record.get("id")), _ticket_of_comment(record)
        if comment and ticket:
            found[comment] = CommentEvent(account, ticket, comment, action, record)
    return list(found.values())
