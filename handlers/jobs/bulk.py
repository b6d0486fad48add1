"""Bulk updates, the worker's part: plan every ticket (nothing sent), preview or start the batch,
and apply a preview exactly as shown."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from slack_sdk.web.async_client import AsyncWebClient

from blocks.bulk import bulk_preview_blocks
from bot.domain.actors import Actor
from bot.domain.batch import Batch, BatchItem
from bot.domain.commands import UpdateCommand
from bot.domain.errors import UserInputError
from bot.domain.refs import TicketRef
from bot.service.updates import PlannedUpdate, changed_since
from bot.truto.client import BULK
from handlers.jobs import bulk_progress
from handlers.kit.deps import SlackDeps, idempotency_key
from handlers.kit.identity import acting_account
from handlers.kit.job_data import ORIGIN, JobData
from handlers.kit.job_queue import put_job
from handlers.kit.tokens import PREVIEW_KEPT_FOR, PREVIEW_VALID_FOR

PLANNED_AT_ONCE = 5  # tickets planned concurrently (each may cost a GET)


Say = Callable[[dict[str, Any]], Awaitable[None]]


def _item(deps: SlackDeps, plan: PlannedUpdate) -> BatchItem:
    ref = plan.before.display_ref
    return BatchItem(
        account=plan.account.name,
        ticket=plan.ticket_id,
        ref=ref,
        url=plan.before.web_url or plan.account.ticket_url(ref),
        changes=[(c.label, c.before, c.after) for c in deps.service.preview(plan)],
        state="pending",
    )


async def plan_all(
    deps: SlackDeps, command: UpdateCommand, actor: Actor, channel: str | None
) -> list[PlannedUpdate]:
    """Every ticket planned (nothing sent), or a UserInputError refusing them all. The GETs of
    planning stay within the bulk share of the API budget too."""
    bulk = BULK.set(True)
    try:
        return await deps.service.plan_many(command, actor, channel, at_once=PLANNED_AT_ONCE)
    finally:
        BULK.reset(bulk)


async def run_command(deps: SlackDeps, client: AsyncWebClient, data: JobData, say: Say) -> None:
    """The worker's part of a bulk `/ticket update`: plan, then preview or start."""
    command = deps.service.parse(data.text or "", data.channel)
    if not isinstance(command, UpdateCommand):
        raise UserInputError("only updates run as jobs")
    actor = Actor(slack_user_id=data.user, name=data.user_name)
    try:
        # Under personal-required, someone without an account of their own is told once, before
        # any ticket is read, not once per ticket.
        routed = {a.name: a for a in (deps.service.account_for_ref(r, data.channel) for r in command.refs)}
        for account in routed.values():
            await acting_account(deps, account, data.user)
        plans = await plan_all(deps, command, actor, data.channel)
    finally:
        await deps.end_bulk_plan(data.team, data.user)  # the user may plan another now
    origin = _origin(data)
    if command.preview or len(plans) > deps.config.settings.bulk_preview_above:
        await offer_preview(deps, say, origin, plans)
        return
    await start_batch(deps, client, origin, [(_item(deps, p), p.update.to_body()) for p in plans], data.key)


def _origin(data: JobData) -> dict[str, Any]:
    return {
        "text": data.text,
        "channel": data.channel,
        "user": data.user,
        "user_name": data.user_name,
        "team": data.team,
        "response_url": data.response_url,
    }


async def offer_preview(
    deps: SlackDeps, say: Say, origin: dict[str, Any], plans: list[PlannedUpdate], note: str = ""
) -> None:
    items = [_item(deps, p) for p in plans]
    token = deps.previews.new_token()
    entry = {
        "kind": "bulk",
        **origin,
        "items": [
            {**item.model_dump(), "body": plan.update.to_body(), "seen": plan.before.updated_at}
            for item, plan in zip(items, plans, strict=True)
        ],
        "at": time.time(),
        "key": idempotency_key(origin.get("team"), origin.get("user"), "bulk-preview", token),
    }
    value = await deps.previews.put(entry, ttl=PREVIEW_KEPT_FOR, token=token)
    changing = len([i for i in items if i.changes])
    await say(
        {
            "response_type": "ephemeral",
            "replace_original": bool(note),
            "text": f"Preview of {len(items)} tickets"
            + (f", {changing} to change" if changing < len(items) else ""),
            "blocks": bulk_preview_blocks(items, value, note),
        }
    )


async def apply_preview(deps: SlackDeps, client: AsyncWebClient, say: Say, entry: dict[str, Any]) -> None:
    """Apply sends exactly what was shown, unless the preview is old or a ticket changed since:
    then a fresh preview is offered instead (nothing sent)."""
    origin = {k: entry.get(k) for k in ("text", "channel", "user", "user_name", "team", "response_url")}
    stored = entry["items"]
    note = ""
    if time.time() - float(entry["at"]) > PREVIEW_VALID_FOR:
        note = "That preview was more than 10 minutes old, so nothing was sent; here it is again."
    else:
        moved = await _changed_since_preview(deps, stored)
        if moved:
            note = f"{', '.join(moved)} changed since that preview, so nothing was sent; here it is again."
    if note:
        command = deps.service.parse(origin["text"] or "", origin.get("channel"))
        assert isinstance(command, UpdateCommand)
        actor = Actor(slack_user_id=origin.get("user"), name=origin.get("user_name"))
        plans = await plan_all(deps, command, actor, origin.get("channel"))
        await offer_preview(deps, say, origin, plans, note)
        return
    items = [(BatchItem.model_validate(i), dict(i["body"])) for i in stored]
    await start_batch(deps, client, origin, items, str(entry["key"]))
    await say({"delete_original": True})


async def _changed_since_preview(deps: SlackDeps, stored: list[dict[str, Any]]) -> list[str]:
    limit = asyncio.Semaphore(PLANNED_AT_ONCE)

    async def moved(item: dict[str, Any]) -> str | None:
        account = deps.config.account(str(item["account"]))
        if account is None:
            return str(item["ref"])
        async with limit:
            now = await deps.service.fetch_ticket(account, TicketRef(str(item["ticket"])))
        return str(item["ref"]) if now.updated_at != item.get("seen") else None

    bulk = BULK.set(True)
    try:
        found = await asyncio.gather(*(moved(i) for i in stored if i.get("changes")))
    finally:
        BULK.reset(bulk)
    return [ref for ref in found if ref]


async def start_batch(
    deps: SlackDeps,
    client: AsyncWebClient,
    origin: dict[str, Any],
    items: list[tuple[BatchItem, dict[str, Any]]],
    key: str,
    *,
    verb: Literal["update", "undo"] = "update",
    thread_ts: str | None = None,
) -> Batch:
    """One message for the batch, then one durable job per ticket that changes."""
    batch = Batch(
        id=idempotency_key(key, "batch")[:24],
        verb=verb,
        user=origin.get("user"),
        user_name=origin.get("user_name"),
        team=origin.get("team"),
        channel=origin.get("channel"),
        response_url=origin.get("response_url"),
        items=[
            item.model_copy(update={"state": "pending" if item.changes else "skipped"}) for item, _ in items
        ],
    )
    batch = await bulk_progress.post_start(deps, client, batch, thread_ts)
    if batch.finished:  # nothing changes anywhere
        await deps.batches.put(batch)
        await bulk_progress.show(deps, client, batch, "summary")
        return batch
    await deps.batches.put(batch)
    for item, body in items:
        if not item.changes:
            continue
        account = deps.config.account(item.account)
        if account is None:
            continue
        job = JobData.to_apply(
            account,
            "bulk",
            item.ticket,
            body,
            reply="post",
            key=idempotency_key(key, item.account, item.ticket),
            batch=batch.id,
            **{name: getattr(batch, name) for name in ORIGIN if name != "response_url"},
        )
        await put_job(deps, job, once=job.key)
    return batch


async def undo_item(deps: SlackDeps, item: BatchItem) -> tuple[BatchItem, dict[str, Any]]:
    """The undo of one ticket; skipped (with why) when someone changed it since."""
    undo = item.undo or {}
    account = deps.config.account(item.account)
    back = [(f, a, b) for f, b, a in item.changes]
    fresh = BatchItem(account=item.account, ticket=item.ticket, ref=item.ref, url=item.url, changes=back)
    if account is None:
        return fresh.model_copy(update={"changes": [], "cause": "its account is not configured any more"}), {}
    bulk = BULK.set(True)
    try:
        now = await deps.service.fetch_ticket(account, TicketRef(item.ticket))
    finally:
        BULK.reset(bulk)
    moved = changed_since(now, dict(undo.get("expect") or {}), [(f, c) for f, c in undo.get("targets") or []])
    if moved:
        return fresh.model_copy(update={"changes": [], "cause": f"{', '.join(moved)} changed since"}), {}
    return fresh, dict(undo.get("body") or {})
