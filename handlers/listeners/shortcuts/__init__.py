"""Message shortcuts: "Update ticket" and "Add as comment"."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers.listeners.shortcuts import add_comment, update_ticket


def register(app: AsyncApp) -> None:
    update_ticket.register(app)
    add_comment.register(app)
