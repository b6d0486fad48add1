"""Options loads: the edit form's live selects."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers.listeners.options import live_selects


def register(app: AsyncApp) -> None:
    live_selects.register(app)
