"""Message shortcuts: "Update ticket", "Add as comment" and "Create ticket"."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers.listeners.shortcuts import add_comment, create_ticket, update_ticket


def register(app: AsyncApp) -> None:
    update_ticket.register(app)
    add_comment.register(app)
    create_ticket.register(app)
