"""The App Home tab: published when opened, and its buttons."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers.listeners.home import tab


def register(app: AsyncApp) -> None:
    tab.register(app)
