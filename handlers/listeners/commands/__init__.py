"""Slash commands: `/ticket` and everything it dispatches, and the subscribe form it opens."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers.listeners.commands import subscriptions, ticket


def register(app: AsyncApp) -> None:
    ticket.register(app)
    subscriptions.register(app)
