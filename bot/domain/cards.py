"""A card the bot has in Slack, as a value: where it is, what state of its ticket it shows."""

from __future__ import annotations

import hashlib
import json
from typing import Literal

from pydantic import BaseModel, Field

from bot.domain.models import Ticket

Kind = Literal["message", "response_url", "unfurl"]
RESPONSE_URL_SECONDS = 30 * 60  # Slack: a response_url works for 30 minutes…
RESPONSE_URL_USES = 5  # …and 5 times
VOLATILE = ("updated_at", "etag", "remote_data")  # change without anything a card shows changing


# What a live line says changed since it was posted: the fields people follow, by their label.
GLANCE = (
    ("status", "status"),
    ("priority", "priority"),
    ("assignees", "assignees"),
    ("due_date", "due date"),
)


def glance(ticket: Ticket) -> dict[str, str]:
    """The followed fields as the card showed them when it was posted."""
    return {label: ticket.display(name) for name, label in GLANCE}


def changed_since(seen: dict[str, str], ticket: Ticket) -> list[str]:
    """The followed fields that read otherwise now: "Done" (a status needs no label), "priority P0"."""
    now = glance(ticket)
    return [
        value if label == "status" else f"{label} {value}"
        for label, value in now.items()
        if label in seen and seen[label] != value
    ]


def fingerprint(ticket: Ticket) -> str:
    """The state of a ticket as a card shows it."""
    data = {k: v for k, v in ticket.to_json().items() if k not in VOLATILE}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


class Card(BaseModel):
    kind: Kind
    channel: str | None = None
    ts: str | None = None
    link: str | None = None  # the unfurled URL
    ref: str | None = None  # the ticket as people know it (PROJ-42), for "PROJ-42 was deleted"
    response_url: str | None = None
    uses_left: int = 0
    interactive: bool = True
    compact: bool = False  # a compact line, not the full card
    shareable: bool = False  # shown to one person with "Share in channel"
    shows: str = ""  # fingerprint of the ticket state on the card
    # A card posted after a change is a record of it: who set what (mrkdwn, kept as it was said),
    # the followed fields as they read then, and its Undo while the Undo can still apply.
    said: str = ""
    seen: dict[str, str] = Field(default_factory=dict)
    undo_value: str | None = None
    undo_until: float = 0.0
    undo_deletes: bool = False  # posted after a create: its Undo deletes the ticket
    added: float = 0.0
    until: float = 0.0

    @property
    def id(self) -> str:
        if self.kind == "response_url":
            return "r:" + hashlib.sha256((self.response_url or "").encode()).hexdigest()[:16]
        if self.kind == "unfurl":
            return f"u:{self.channel}:{self.ts}:{self.link}"
        return f"m:{self.channel}:{self.ts}"

    def where(self) -> str:
        """For logs: never the response_url itself (it is a credential)."""
        return f"{self.kind} {self.channel or ''} {self.ts or ''}".strip()
