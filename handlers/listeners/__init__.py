"""What Bolt calls, grouped by Slack surface as Bolt's starter template groups them (commands,
actions, views, shortcuts, events, options, home); each package, and each module in it, has
`register(app)`. `register_all` wires them in, for either mode."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers.kit.tenancy import Tenancy
from handlers.listeners import actions, commands, events, home, options, shortcuts, views


def register_all(app: AsyncApp, tenancy: Tenancy | None) -> None:
    """Every listener; `tenancy` in distributed mode (uninstalls, workspace settings)."""
    commands.register(app)
    views.register(app, distributed=tenancy is not None)
    actions.register(app)
    shortcuts.register(app)
    events.register(app, tenancy)
    home.register(app)
    options.register(app)
