"""Modal submissions: the edit form and its pickers, the create form; the workspace settings
(distributed mode)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers.listeners.views import create, edit, workspace_settings


def register(app: AsyncApp, distributed: bool) -> None:
    edit.register(app)
    create.register(app)
    if distributed:
        workspace_settings.register(app)
