"""Typed readers of Slack's payloads: who, where, which action, what a form holds.

A payload is checked against Slack's documented shape before any listener runs
(bot/slack/payload_shape.py); these readers still answer None (or "") for a part that is missing
or of another type, instead of every listener writing its own `(x.get(..) or {}).get(..)`.
"""

from __future__ import annotations

from typing import Any


def dig(data: Any, *path: str | int) -> Any:
    """The value at `path` (dict keys, list indexes), or None where a step is missing or not
    a dict (a list) to step into."""
    for step in path:
        if isinstance(step, int):
            data = data[step] if isinstance(data, list) and -len(data) <= step < len(data) else None
        else:
            data = data.get(step) if isinstance(data, dict) else None
        if data is None:
            return None
    return data


def text_at(data: Any, *path: str | int) -> str:
    """The string at `path`, or "" (a number or a boolean there is no text)."""
    value = dig(data, *path)
    return value if isinstance(value, str) else ""


def mapping_at(data: Any, *path: str | int) -> dict[str, Any]:
    value = dig(data, *path)
    return value if isinstance(value, dict) else {}


def user_of(body: dict[str, Any]) -> str | None:
    """Who acted: a slash command's `user_id`, an interaction's `user.id`."""
    return text_at(body, "user_id") or text_at(body, "user", "id") or None


def team_of(body: dict[str, Any]) -> str | None:
    """The workspace the payload came from: an interaction's `team.id`, else `team_id`."""
    return text_at(body, "team", "id") or text_at(body, "team_id") or None


def channel_of(body: dict[str, Any]) -> str | None:
    """Where: an interaction's `channel.id`, a command's `channel_id`, a message button's
    container."""
    if isinstance(body.get("channel"), dict):
        return text_at(body, "channel", "id") or None
    return text_at(body, "channel_id") or text_at(body, "container", "channel_id") or None


def first_action(body: dict[str, Any]) -> dict[str, Any]:
    """The action a block_actions payload is about (Slack sends one per click)."""
    return mapping_at(body, "actions", 0)


def action_value(body: dict[str, Any]) -> str | None:
    """The value of the button a block_actions payload is about."""
    value = first_action(body).get("value")
    return str(value) if value else None


def selected_value(element: Any) -> str | None:
    """A select's chosen option's value (static, external or radio), or None."""
    return text_at(element, "selected_option", "value") or None


def private_metadata(body: dict[str, Any]) -> str | None:
    return text_at(body, "view", "private_metadata") or None


def view_values(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A submitted view's `state.values`: block id → action id → the input's state."""
    return mapping_at(body, "view", "state", "values")


def view_input(body: dict[str, Any], block_id: str, action_id: str) -> dict[str, Any]:
    """One input's state in a submitted view ({} when the form has no such input)."""
    return mapping_at(view_values(body), block_id, action_id)
