"""A bulk update's buttons: Retry the failed tickets, Undo the batch."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids
from bot.domain.errors import UserInputError
from handlers.jobs import bulk_progress
from handlers.jobs.bulk import start_batch, undo_item
from handlers.kit.deps import SlackDeps, idempotency_key
from handlers.kit.job_data import JobData
from handlers.kit.job_queue import put_job
from handlers.kit.payloads import action_value
from handlers.kit.surface import ack_only, actor_of, guarded


@guarded
async def retry_clicked(
    body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, deps: SlackDeps
) -> None:
    """Retry puts back the failed tickets only, with their own keys (a retry cannot apply twice),
    as the person who clicked: their permissions are checked first (a refusal leaves the Retry
    to others), and the changes are theirs in the audit trail."""
    held = await deps.retries.find(action_value(body))
    batch = await deps.batches.get(str(held.value.get("batch"))) if held else None
    if held is None or batch is None:
        raise UserInputError("This Retry was already used or has expired.")
    failed = [i for i in batch.items if i.state == "failed" and i.job]
    actor = actor_of(body)
    jobs = [JobData.load(dict(item.job or {}), deps.config) for item in failed]
    for account in {job.account for job in jobs}:
        configured = deps.config.account(account)
        if configured is not None:
            fields = [name for job in jobs if job.account == account for name in job.body]
            await deps.service.check_may_update(configured, actor, batch.channel, fields, ask_the_tool=False)
    await deps.retries.discard(held)
    batch = await deps.batches.reopen(batch.id, {(i.account, i.ticket) for i in failed})
    if batch is None:
        raise UserInputError("This Retry was already used or has expired.")
    await bulk_progress.show(deps, client, batch, "progress")
    for job in jobs:
        await put_job(deps, job.model_copy(update={"user": actor.slack_user_id, "user_name": actor.name}))


@guarded
async def undo_clicked(
    body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, deps: SlackDeps
) -> None:
    """Undo restores exactly what the batch changed on each ticket, skipping (and listing)
    tickets changed by someone since."""
    held = await deps.undos.find(action_value(body))
    batch = await deps.batches.get(str(held.value.get("batch"))) if held else None
    if held is None or batch is None:
        minutes = deps.config.settings.undo_minutes
        raise UserInputError(
            f"Undo is no longer available: it was used already, or {minutes} minutes have passed."
        )
    done = [i for i in batch.items if i.state == "done" and i.undo]
    actor = actor_of(body)
    for account in {i.account for i in done}:
        configured = deps.config.account(account)
        if configured is not None:  # refused before the Undo is used up
            fields = [f for i in done if i.account == account for f in (i.undo or {}).get("body", {})]
            await deps.service.check_may_update(configured, actor, batch.channel, fields, ask_the_tool=False)
    await deps.undos.discard(held)
    items = await asyncio.gather(*(undo_item(deps, item) for item in done))
    user = body.get("user") or {}
    origin = {
        "channel": batch.channel,
        "user": user.get("id"),
        "user_name": user.get("username") or user.get("name"),
        "team": batch.team,
        "response_url": body.get("response_url"),
    }
    await start_batch(
        deps,
        client,
        origin,
        items,
        idempotency_key(held.token, "undo"),
        verb="undo",
        thread_ts=batch.message_ts,
    )


def register(app: AsyncApp) -> None:
    app.action(ids.BULK_RETRY)(ack=ack_only, lazy=[retry_clicked])
    app.action(ids.BULK_UNDO)(ack=ack_only, lazy=[undo_clicked])
