"""Buttons and selects: a card's, a preview's Apply, Undo, a bulk update's Retry and Undo."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from handlers.listeners.actions import bulk, card, preview, undo


def register(app: AsyncApp) -> None:
    for module in (card, preview, undo, bulk):
        module.register(app)
