"""Events API: link unfurls, reactions, replies in synced threads, Workflow Builder steps,
uninstalls and people leaving."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers.kit.tenancy import Tenancy
from handlers.listeners.events import installs, reactions, thread_replies, unfurls, workflow_steps


def register(app: AsyncApp, tenancy: Tenancy | None) -> None:
    """`tenancy`: distributed mode's (an uninstall forgets the workspace)."""
    for module in (unfurls, reactions, thread_replies, workflow_steps):
        module.register(app)
    installs.register_people(app)
    if tenancy is None:
        installs.register_single(app)
    else:
        installs.register(app, tenancy)
