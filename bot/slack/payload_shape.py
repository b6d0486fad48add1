"""A signed Slack payload's shape, checked before any listener reads it.

Slack documents the shape of every payload it sends (interaction payloads, the Events API
envelope); listeners read them as documented. A payload that is signed but shaped otherwise (a
field null or of another type, a required one missing) comes from a holder of the signing secret
or a broken proxy, never from Slack: it is refused as a whole here (one line, no traceback)
rather than met by a listener halfway through its work.

Keys are checked wherever they appear, by what they always hold in Slack's payloads; the few
whose type depends on the payload (`user` and `channel` are objects in interactions and ids in
events) are checked at the top of each kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Text (or absent, or null) wherever they appear.
_TEXT = frozenset(
    {
        "type",
        "action_id",
        "block_id",
        "callback_id",
        "private_metadata",
        "response_url",
        "trigger_id",
        "ts",
        "message_ts",
        "thread_ts",
        "event_ts",
        "channel_id",
        "view_id",
        "team_id",
        "user_id",
        "enterprise_id",
        "function_execution_id",
        "workflow_execution_id",
        "url",
        "domain",
        "reaction",
        "tab",
        "hash",
        "selected_date",
        "selected_time",
        "selected_user",
        "selected_conversation",
        "selected_channel",
        "api_app_id",
    }
)
_OBJECT = frozenset(
    {
        "container",
        "view",
        "message",
        "item",
        "inputs",
        "function",
        "event",
        "state",
        "values",
        "selected_option",
        "interactivity",
        "interactor",
        "authed_user",
        "enterprise",
    }
)
_LIST = frozenset(
    {
        "actions",
        "selected_options",
        "selected_users",
        "selected_conversations",
        "selected_channels",
        "links",
        "blocks",
        "elements",
        "authorizations",
        "response_urls",
    }
)
_INTERACTIONS = frozenset(
    {"block_actions", "view_submission", "view_closed", "block_suggestion", "message_action", "shortcut"}
)
_MAX_DEPTH = 12  # the edge already refused deeper JSON (bodies.MAX_JSON_DEPTH)


def _walk(node: Any, depth: int = 0) -> str | None:
    if depth > _MAX_DEPTH:
        return None
    if isinstance(node, list):
        for item in node:
            if (why := _walk(item, depth + 1)) is not None:
                return why
        return None
    if not isinstance(node, Mapping):
        return None
    for key, value in node.items():
        if value is None:
            continue
        if key in _TEXT and not isinstance(value, str):
            return f"{key} is not text"
        if key in _OBJECT and not isinstance(value, Mapping):
            return f"{key} is not an object"
        if key in _LIST and not isinstance(value, list):
            return f"{key} is not a list"
        if (why := _walk(value, depth + 1)) is not None:
            return why
    return None


def _object_with_id(body: Mapping[str, Any], key: str, required: bool) -> str | None:
    value = body.get(key)
    if value is None:
        return f"{key} is missing" if required else None
    if not isinstance(value, Mapping) or not isinstance(value.get("id"), str) or not value["id"]:
        return f"{key} has no id"
    return None


def _interaction(body: Mapping[str, Any], kind: str) -> str | None:
    for key, required in (("user", True), ("team", False), ("channel", kind == "message_action")):
        if (why := _object_with_id(body, key, required)) is not None:
            return why
    view = body.get("view")
    if view is not None and not isinstance(view.get("type"), str):
        return "view has no type"  # Slack's views always say (modal, home); Bolt reads it
    if kind == "block_actions":
        actions = body.get("actions")
        if not actions or not all(
            isinstance(a, Mapping) and isinstance(a.get("action_id"), str) for a in actions
        ):
            return "actions are missing"
    if kind in ("view_submission", "view_closed"):
        view = body.get("view")
        if not isinstance(view, Mapping) or not all(
            isinstance(view.get(k), str) for k in ("type", "callback_id")
        ):
            return "view is missing"
        state = view.get("state")
        values = state.get("values") if isinstance(state, Mapping) else {}
        if not isinstance(values, Mapping) or not all(
            isinstance(block, Mapping) and all(isinstance(item, Mapping) for item in block.values())
            for block in values.values()
        ):
            return "view state is not as Slack sends it"
    if kind == "block_suggestion" and not isinstance(body.get("action_id"), str):
        return "action_id is missing"
    if kind in ("message_action", "shortcut") and not isinstance(body.get("callback_id"), str):
        return "callback_id is missing"
    if kind == "message_action" and not isinstance(body.get("message"), Mapping):
        return "message is missing"
    return None


def _event(body: Mapping[str, Any]) -> str | None:
    event = body.get("event")
    if not isinstance(event, Mapping) or not isinstance(event.get("type"), str):
        return "event is missing"
    if event["type"] == "function_executed":
        function = event.get("function")
        if not isinstance(function, Mapping) or not isinstance(function.get("callback_id"), str):
            return "the step's function is missing"  # Bolt routes a step by its callback_id
    for key in ("user", "channel"):  # ids in events (an object only in a few Slack events)
        value = event.get(key)
        if value is not None and not isinstance(value, str | Mapping):
            return f"event {key} is neither an id nor an object"
    return None


def malformed(body: Mapping[str, Any]) -> str | None:
    """Why this payload is not shaped as Slack sends it, or None. Slash commands (form fields,
    all text) always pass."""
    kind = body.get("type")
    if kind is None and "command" in body:
        return None
    why = _walk(body)
    if why is not None:
        return why
    if kind in _INTERACTIONS:
        return _interaction(body, str(kind))
    if kind == "event_callback":
        return _event(body)
    return None
