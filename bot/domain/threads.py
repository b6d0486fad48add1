"""A Slack thread that follows a ticket (a synced thread)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ThreadLink:
    channel: str
    thread_ts: str
    account: str  # the account's name in the workspace
    integrated: str  # its integrated account id
    ticket: str  # the ticket's id
    ref: str  # the ticket as people name it (PROJ-42)
    synced_by: str
    since: float  # epoch seconds: the tool's comments from then on are posted
