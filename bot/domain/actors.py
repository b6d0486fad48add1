"""Who asks for a change, and how the bot learns about Slack users (given by the Slack layer)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Actor:
    """Who asked: a Slack user (id, display name, email when known)."""

    slack_user_id: str | None = None
    name: str | None = None
    email: str | None = None


class SlackDirectory(Protocol):
    """Slack users' profile emails and user group members; provided by the Slack layer."""

    async def email_of(self, slack_user_id: str) -> str | None: ...

    async def members_of(self, usergroup_id: str) -> frozenset[str]: ...
