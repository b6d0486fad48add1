"""Signed but malformed payloads (a field null, of another type, or missing) on every surface the
app registers: each is answered (200, or a refusal) and never a 500 with a traceback. Slack
never sends these shapes; a holder of the signing secret, or a bug in a proxy, might."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import pytest

from blocks import ids
from tests.conftest import JIRA_CHANNEL
from tests.fleet import event
from tests.scenarios.conftest import Harness
from tests.scenarios.payloads import block_actions, block_suggestion, form, message_action, view_submission

ODD_VALUES: tuple[Any, ...] = (None, 7, "text", [], {}, [None], {"x": None})
ACTION_IDS = (
    ids.EDIT_BUTTON,
    ids.STATUS_SELECT,
    ids.ASSIGN_ME,
    ids.SHARE,
    ids.SHOW_CARD,
    ids.RETRY,
    ids.PREVIEW_APPLY,
    ids.UNDO,
    ids.PREVIEW_CANCEL,
    ids.BULK_RETRY,
    ids.BULK_UNDO,
    ids.PICK_ACTION,
    ids.ALL_ACTION,
    ids.OPEN_SETTINGS,
    ids.NOTIFY_TOGGLE,
    ids.CONNECT_TRACKER,
)
VIEWS = (
    ids.EDIT_VIEW,
    ids.PICK_VIEW,
    ids.ENTER_VIEW,
    ids.SETTINGS_VIEW,
    ids.SUBSCRIBE_VIEW,
    ids.COMMENT_VIEW,
)
SHORTCUTS = (ids.MESSAGE_SHORTCUT, ids.COMMENT_SHORTCUT)
EVENTS = ("app_home_opened", "link_shared", "reaction_added", "function_executed", "app_uninstalled")


def _paths(node: Any, prefix: tuple[Any, ...] = (), depth: int = 0) -> Iterator[tuple[Any, ...]]:
    """Every key path in the payload, to three levels."""
    if depth >= 3:
        return
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
    for key, value in items:
        yield (*prefix, key)
        yield from _paths(value, (*prefix, key), depth + 1)


def _mutations(payload: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(what was changed, the payload changed so)."""
    for path in _paths(payload):
        where = ".".join(map(str, path))
        for value in ODD_VALUES:
            changed = copy.deepcopy(payload)
            node: Any = changed
            for key in path[:-1]:
                node = node[key]
            node[path[-1]] = value
            yield f"{where}={json.dumps(value)}", changed
        removed = copy.deepcopy(payload)
        node = removed
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]
        yield f"{where} removed", removed


def interactive_payloads(harness: Harness) -> Iterator[dict[str, Any]]:
    url = harness.slack.response_url()
    for action in ACTION_IDS:
        yield block_actions(
            {"action_id": action, "block_id": "b", "type": "button", "value": "v"},
            channel=JIRA_CHANNEL,
            response_url=url,
        )
    values = {"b": {"a": {"type": "plain_text_input", "value": "x"}}}
    for callback in VIEWS:
        yield view_submission({"type": "modal", "callback_id": callback, "private_metadata": "meta"}, values)
    view = {"type": "modal", "callback_id": ids.EDIT_VIEW, "private_metadata": "meta"}
    yield block_suggestion(view, ids.field_block("assignees"), "ana")
    for callback in SHORTCUTS:
        shortcut = message_action({"text": "PROJ-42 broke"}, channel=JIRA_CHANNEL, response_url=url)
        yield {**shortcut, "callback_id": callback}


def event_payloads() -> Iterator[dict[str, Any]]:
    inners: dict[str, dict[str, Any]] = {
        "app_home_opened": {"type": "app_home_opened", "user": "U0ANA", "tab": "home"},
        "link_shared": {
            "type": "link_shared",
            "channel": JIRA_CHANNEL,
            "message_ts": "1.2",
            "links": [{"url": "https://acme.atlassian.net/browse/PROJ-42", "domain": "acme.atlassian.net"}],
        },
        "reaction_added": {
            "type": "reaction_added",
            "user": "U0ANA",
            "reaction": "white_check_mark",
            "item": {"type": "message", "channel": JIRA_CHANNEL, "ts": "1.2"},
        },
        "function_executed": {
            "type": "function_executed",
            "function": {"callback_id": "update_ticket"},
            "inputs": {"ticket": "PROJ-42", "status": "Done"},
            "function_execution_id": "Fx1",
        },
        "app_uninstalled": {"type": "app_uninstalled"},
    }
    for name in EVENTS:
        yield event("T0TEAM", inners[name])


async def _send(harness: Harness, payload: dict[str, Any], as_event: bool) -> int:
    if as_event:
        body, kind = json.dumps(payload), "application/json"
    else:
        body, kind = form(payload), "application/x-www-form-urlencoded"
    response = await harness.post(body, kind)
    return response.status_code


@pytest.mark.slow
async def test_no_malformed_payload_on_any_surface_gets_a_500(edge: Harness) -> None:
    edge.run_jobs = False  # the acks are what answers 500; the jobs' own failures are told
    failures: list[str] = []
    cases = [(p, False) for p in interactive_payloads(edge)] + [(p, True) for p in event_payloads()]
    for base, as_event in cases:
        kind = base.get("type"), (base.get("event") or {}).get("type"), base.get("callback_id")
        for what, mutated in _mutations(base):
            status = await _send(edge, mutated, as_event)
            if status >= 500:
                failures.append(f"{kind}: {what}")
    assert failures == [], f"{len(failures)} answered 500: {failures[:40]}"
