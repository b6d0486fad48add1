"""What Bolt calls: one module per Slack surface or feature, each with `register(app)`.

`register_all` wires them in; distributed mode adds the installs and workspace settings (which
need the tenancy)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers.kit.tenancy import Tenancy
from handlers.listeners import (
    actions,
    bulk,
    commands,
    comment_shortcut,
    events,
    home,
    installs,
    options,
    preview,
    reactions,
    shortcuts,
    subscriptions,
    undo,
    views,
    workflow_steps,
    workspace_settings,
)

SURFACES = (
    commands,
    views,
    actions,
    preview,
    undo,
    bulk,
    shortcuts,
    comment_shortcut,
    events,
    home,
    options,
    reactions,
    subscriptions,
    workflow_steps,
)


def register_all(app: AsyncApp, tenancy: Tenancy | None) -> None:
    """Every listener; `tenancy` in distributed mode (uninstalls, workspace settings)."""
    for surface in SURFACES:
        surface.register(app)
    installs.register_people(app)
    if tenancy is None:
        installs.register_single(app)
    else:
        installs.register(app, tenancy)
        workspace_settings.register(app)
