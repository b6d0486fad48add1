"""Slash commands: `/ticket` and everything it dispatches, the subscribe form it opens, a
list's page turns, and the create form's "Open the form"."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers.listeners.commands import subscriptions, ticket, ticket_create, ticket_list


def register(app: AsyncApp) -> None:
    ticket.register(app)
    subscriptions.register(app)
    ticket_list.register(app)
    ticket_create.register(app)
