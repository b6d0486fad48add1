"""Preview: `/ticket update … --preview` (or more changes than PREVIEW_ABOVE_FIELDS) answers
with before → after and Apply / Cancel. Apply sends exactly what was shown, unless the preview
is over 10 minutes old or the ticket changed since: then a fresh preview is offered instead."""

from __future__ import annotations

import time
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids
from blocks.messages import preview_blocks
from bot.domain.actors import Actor
from bot.domain.commands import UpdateCommand
from bot.domain.errors import UserInputError
from bot.domain.refs import TicketRef
from handlers.jobs import bulk
from handlers.kit import texts
from handlers.kit.deps import SlackDeps, idempotency_key
from handlers.kit.identity import acting_account
from handlers.kit.job_data import ORIGIN, JobData
from handlers.kit.job_queue import put_job
from handlers.kit.payloads import action_value
from handlers.kit.surface import ack_only, guarded
from handlers.kit.tokens import PREVIEW_KEPT_FOR as KEPT_FOR
from handlers.kit.tokens import PREVIEW_VALID_FOR as VALID_FOR

GONE = texts.PREVIEW_GONE


def wants_preview(deps: SlackDeps, command: UpdateCommand) -> bool:
    return command.preview or len(command.assignments) > deps.config.settings.preview_above_fields


async def offer_preview(
    deps: SlackDeps, respond: AsyncRespond, origin: dict[str, Any], *, note: str = "", replace: bool = False
) -> None:
    """Plan (resolve, validate; nothing sent), keep the plan, and show it with Apply / Cancel."""
    command = deps.service.parse(origin["text"], origin.get("channel"))
    if not isinstance(command, UpdateCommand):
        raise UserInputError("only updates can be previewed")
    actor = Actor(slack_user_id=origin.get("user"), name=origin.get("user_name"))
    # Planned as the person the change will be made as: what their own account reads.
    acting = await acting_account(deps, deps.service.account_for(origin.get("channel")), origin.get("user"))
    plan = await deps.service.plan(command, actor, origin.get("channel"), account=acting)
    token = deps.previews.new_token()
    entry = {
        **origin,
        "account": plan.account.name,
        "ticket": plan.ticket_id,
        "body": plan.update.to_body(),
        "seen": plan.before.updated_at,
        "at": time.time(),
        "key": idempotency_key(origin.get("team"), origin.get("user"), "preview", token),
    }
    value = await deps.previews.put(entry, ttl=KEPT_FOR, token=token)
    blocks = preview_blocks(plan.ticket_id, deps.service.preview(plan), value, note)
    await respond(
        response_type="ephemeral",
        replace_original=replace,
        text=f"Preview of {plan.ticket_id}",
        blocks=blocks,
    )


@guarded
async def apply_preview(
    body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, deps: SlackDeps
) -> None:
    held = await deps.previews.take(action_value(body))
    if held is None:
        raise UserInputError(GONE)
    entry = held.value
    if entry.get("kind") == "bulk":

        async def say(message: dict[str, Any]) -> None:
            await respond(**message)

        await bulk.apply_preview(deps, client, say, entry)
        return
    account = deps.config.account(str(entry["account"]))
    if account is None:
        raise UserInputError(GONE)
    origin = {k: entry.get(k) for k in ("text", "channel", "user", "user_name", "team", "response_url")}
    if time.time() - float(entry["at"]) > VALID_FOR:
        note = "That preview was more than 10 minutes old, so nothing was sent; here it is again."
        await offer_preview(deps, respond, origin, note=note, replace=True)
        return
    reader = await acting_account(deps, account, entry.get("user"), reading=True)
    now = await deps.service.fetch_ticket(reader, TicketRef(entry["ticket"]))
    if now.updated_at != entry["seen"]:
        note = f"{entry['ticket']} changed since that preview, so nothing was sent; here it is again."
        await offer_preview(deps, respond, origin, note=note, replace=True)
        return
    job = JobData.to_apply(
        account,
        "preview",
        entry["ticket"],
        entry["body"],
        key=entry["key"],
        **{name: entry.get(name) for name in ORIGIN},
    )
    await put_job(deps, job, once=entry["key"])
    await respond(delete_original=True)


@guarded
async def cancel_preview(
    body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, deps: SlackDeps
) -> None:
    await deps.previews.take(action_value(body))
    await respond(replace_original=True, text="Preview cancelled; nothing was sent.")


def register(app: AsyncApp) -> None:
    app.action(ids.PREVIEW_APPLY)(ack=ack_only, lazy=[apply_preview])
    app.action(ids.PREVIEW_CANCEL)(ack=ack_only, lazy=[cancel_preview])
