"""Who asks for a change, and how the bot learns about Slack users (given by the Slack layer)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


@dataclass(frozen=True)
class Actor:
    """Who asked: a Slack user (id, display name, email when known) that Slack vouched for, or
    a workflow (`as_workflow`), which may carry the person its author named (`claimed_for`):
    a claim shown beside the change, never an identity that permissions or the audit trust."""

    slack_user_id: str | None = None
    name: str | None = None
    email: str | None = None
    as_workflow: bool = False
    claimed_for: str | None = None

    @property
    def described(self) -> str | None:
        """How the audit trail and messages name who acted."""
        if self.as_workflow and self.claimed_for:
            return f"{self.name or 'a workflow'}, for <@{self.claimed_for}> (as the workflow says)"
        return self.name


class SlackDirectory(Protocol):
    """Slack users' profile emails and user group members; provided by the Slack layer."""

    async def email_of(self, slack_user_id: str) -> str | None: ...

    async def members_of(self, usergroup_id: str) -> frozenset[str]: ...

    async def standing(self, slack_user_id: str) -> str | None:
        """Why this person may not change anything by default ("a guest", "from another
        organisation"), else None; refuses when Slack cannot say."""
        ...
