"""Slash commands: `/ticket` and everything it dispatches, the subscribe form it opens, and a
list's page turns."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers.listeners.commands import subscriptions, ticket, ticket_list


def register(app: AsyncApp) -> None:
    ticket.register(app)
    subscriptions.register(app)
    ticket_list.register(app)
