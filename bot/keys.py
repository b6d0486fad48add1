"""Every Redis key the bot writes starts here, so one deployment's keys never mix with another's."""

from __future__ import annotations

PREFIX = "ticketbot:v1"


def key(*parts: str) -> str:
    return ":".join((PREFIX, *parts))
