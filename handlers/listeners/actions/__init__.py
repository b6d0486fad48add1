"""Buttons and selects: a card's, a preview's Apply, Undo, a bulk update's Retry and Undo,
Sync and Unsync thread."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers.listeners.actions import bulk, card, preview, thread_sync, undo


def register(app: AsyncApp) -> None:
    for module in (card, preview, undo, bulk, thread_sync):
        module.register(app)
