"""A bulk update's one message: posted when the batch starts, edited as tickets complete (at
most once a second), replaced by the summary when the last one ends."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from blocks.bulk import progress_blocks, progress_text, summary_blocks, summary_text
from bot.domain.batch import Batch, State
from bot.domain.models import TicketUpdate
from bot.service.updates import UpdateResult
from handlers.jobs import notify_people, subscribers
from handlers.kit.deps import SlackDeps
from handlers.kit.job_data import JobData
from handlers.kit.surface import NOT_A_MEMBER

log = logging.getLogger(__name__)


async def post_start(
    deps: SlackDeps, client: AsyncWebClient, batch: Batch, thread_ts: str | None = None
) -> Batch:
    """The batch's message, posted as the bot where it may (so it can be edited), else through
    the command's response_url (then only the summary replaces it)."""
    message: dict[str, Any] = {"text": progress_text(batch), "blocks": progress_blocks(batch)}
    if batch.channel:
        try:
            answer = await client.chat_postMessage(channel=batch.channel, thread_ts=thread_ts, **message)
            return batch.model_copy(
                update={"message_channel": answer.get("channel"), "message_ts": answer.get("ts")}
            )
        except SlackApiError as exc:
            if exc.response.get("error") not in NOT_A_MEMBER:
                raise
    if batch.response_url:
        await AsyncWebhookClient(batch.response_url).send_dict(
            {"response_type": "in_channel", "replace_original": False, **message}
        )
    return batch


async def show(deps: SlackDeps, client: AsyncWebClient, batch: Batch, what: str) -> None:
    """Put progress or the summary on the batch's message."""
    if what == "summary":
        undo = await _undo_value(deps, batch)
        retry = (
            await deps.retries.put({"batch": batch.id}, ttl=deps.retry_ttl) if batch.count("failed") else None
        )
        message: dict[str, Any] = {"text": summary_text(batch), "blocks": summary_blocks(batch, undo, retry)}
    else:
        message = {"text": progress_text(batch), "blocks": progress_blocks(batch)}
    try:
        if batch.message_ts and batch.message_channel:
            await client.chat_update(channel=batch.message_channel, ts=batch.message_ts, **message)
        elif what == "summary" and batch.response_url:
            await AsyncWebhookClient(batch.response_url).send_dict({"replace_original": True, **message})
    except Exception:
        log.warning("the message of batch %s could not be edited", batch.id, exc_info=True)


async def _undo_value(deps: SlackDeps, batch: Batch) -> str | None:
    minutes = deps.config.settings.undo_minutes
    if batch.verb == "undo" or minutes <= 0 or not any(i.undo for i in batch.items if i.state == "done"):
        return None
    return await deps.undos.put({"batch": batch.id}, ttl=minutes * 60)


async def record(deps: SlackDeps, client: AsyncWebClient, data: JobData, state: State, **fields: Any) -> None:
    if data.batch is None:
        return
    batch, what = await deps.batches.record(data.batch, data.account, data.ticket, state, **fields)
    if batch is not None and what is not None:
        await show(deps, client, batch, what)


async def done(deps: SlackDeps, client: AsyncWebClient, data: JobData, result: UpdateResult) -> None:
    undo_body = result.undo_body()
    undo = None
    if undo_body:
        undo = {
            "body": TicketUpdate(**undo_body).to_body(),
            "expect": result.undo_expect(),
            "targets": [list(t) for t in result.targets],
        }
    changes = [(c.label, c.before, c.after) for c in result.changes]
    await deps.own_writes.note(result.account.integrated_account_id, result.ticket, data.channel, data.user)
    await subscribers.note_own_update(deps, result.account, result.before, await notify_people.anyone(deps))
    await record(deps, client, data, "done", undo=undo, changes=changes)


async def failed(deps: SlackDeps, client: AsyncWebClient, data: JobData, cause: str) -> None:
    await record(deps, client, data, "failed", cause=cause, job=data.to_json())
