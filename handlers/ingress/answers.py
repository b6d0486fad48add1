"""Answers an HTTP endpoint gives at once, before (or instead of) Bolt: a JSON body, and the
per-user quota's refusal."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from slack_bolt import BoltResponse
from slack_sdk.webhook.async_client import AsyncWebhookClient

from handlers.kit import texts
from handlers.kit.payloads import dig
from handlers.kit.surface import private_answer

log = logging.getLogger(__name__)


async def _send_note(url: str, payload: dict[str, Any]) -> None:
    try:
        await AsyncWebhookClient(url).send_dict(payload)
    except Exception:
        log.warning("could not send the quota note", exc_info=True)


def json_response(answer: dict[str, Any]) -> BoltResponse:
    """An answer in the ack's own body."""
    return BoltResponse(status=200, body=json.dumps(answer), headers={"content-type": "application/json"})


async def too_many_requests(
    body: dict[str, Any], per_minute: int, background: set[asyncio.Task[None]]
) -> BoltResponse:
    """The answer to a request past the per-user quota: said at once, nothing queued. A note
    through the response URL is held in `background` while in flight (a task nobody holds
    may be collected before it runs)."""
    message = texts.too_many_requests(per_minute)
    if "command" in body:
        return json_response(private_answer(message))
    if body.get("type") == "view_submission":
        inputs = [b for b in dig(body, "view", "blocks") or [] if b.get("type") == "input"]
        if inputs and inputs[0].get("block_id"):
            return json_response(
                {"response_action": "errors", "errors": {inputs[0]["block_id"]: message[:150]}}
            )
    url = body.get("response_url")
    if isinstance(url, str) and url:
        payload = {"response_type": "ephemeral", "replace_original": False, "text": message}
        task = asyncio.get_running_loop().create_task(_send_note(url, payload))
        background.add(task)
        task.add_done_callback(background.discard)
    return BoltResponse(status=200, body="")
