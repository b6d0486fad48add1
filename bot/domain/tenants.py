"""Who a workspace is to the unified API: its tenant id, and the accounts it has connected.

A workspace's tenant is its team id; an org-wide install on Enterprise Grid connects for the
whole org, under the org's id (T… and E… ids cannot collide). The unified API takes `tenant_id`
as any string of ours and hands it back on the `integrated_account:*` events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

ACTIVE = "active"


def tenant_of(team_id: str | None, enterprise_id: str | None, is_enterprise_install: bool = False) -> str:
    if is_enterprise_install and enterprise_id:
        return enterprise_id
    if team_id:
        return team_id
    if enterprise_id:
        return enterprise_id
    raise ValueError("a request names neither a team nor an enterprise")


@dataclass(frozen=True)
class Connection:
    """One connected account of a workspace, as stored."""

    tenant_id: str
    integrated_account_id: str
    integration: str = ""  # the tool's name in the unified API (jira, linear, …)
    label: str = ""  # as people name it (Jira)
    status: str = ACTIVE
    last_error: str | None = None
    connected_by: str | None = None  # the Slack user who opened the connect page
    created_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.status == ACTIVE

    @property
    def state(self) -> str:
        """As the Home tab says it."""
        return "connected" if self.active else self.status.replace("_", " ")

    @property
    def tool(self) -> str:
        return self.label or self.integration.replace("_", " ").title() or "the ticketing tool"
