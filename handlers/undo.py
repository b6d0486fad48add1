"""Undo on a card posted after an update (for UNDO_MINUTES): sends the previous values of
exactly the fields that changed, if the ticket still reads what the update set."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids
from bot.refs import TicketRef
from bot.refusals import Notice, UserInputError
from bot.service import changed_since
from handlers.deps import actor_of, deps_of, idempotency_key, request_id
from handlers.job_data import JobData
from handlers.jobs import put_job
from handlers.surface import ack_only, guarded


@guarded
async def undo_clicked(
    body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    deps = deps_of(context)
    value = ((body.get("actions") or [{}])[0]).get("value")
    held = await deps.undos.find(value)
    minutes = deps.config.settings.undo_minutes
    if held is None:
        used = await deps.undos.used(value)
        if used is not None:
            raise Notice(f"Already undone by <@{used.get('user')}>; nothing more was sent.")
        raise UserInputError(f"Undo is no longer available: it works for {minutes} minutes after a change.")
    record = held.value
    account = deps.config.account(str(record["account"]))
    if account is None:
        raise UserInputError("Undo is no longer available: the account is not configured any more.")
    user = body.get("user") or {}
    # Someone who may not change this ticket is refused before the Undo is used up.
    await deps.service.check_may_update(
        account, actor_of(body), record.get("channel"), list(record["body"]), ask_the_tool=False
    )
    now = await deps.service.fetch_ticket(account, TicketRef(record["ticket"]))
    targets = [(field, custom) for field, custom in record["targets"]]
    moved = changed_since(now, record["expect"], targets)
    if moved:
        raise UserInputError(f"Not undone: {', '.join(moved)} changed since; nothing was sent.")
    await deps.undos.discard(held, used_by={"user": user.get("id")}, remember_for=minutes * 60)
    container = body.get("container") or {}
    job = JobData.for_account(
        account,
        kind="fields",
        surface="undo",
        ticket=record["ticket"],
        body=record["body"],
        channel=record.get("channel"),
        user=user.get("id"),
        user_name=user.get("username") or user.get("name"),
        response_url=body.get("response_url"),
        reply="replace",
        ephemeral=bool(container.get("is_ephemeral")),
        message_ts=container.get("message_ts") if container.get("type") == "message" else None,
        undo_of=record.get("user"),
        key=idempotency_key(held.token, "undo"),  # its own key: an undo is a change of its own
        request_id=request_id(),
    )
    await put_job(deps, job, once=job.key)


def register(app: AsyncApp) -> None:
    app.action(ids.UNDO)(ack=ack_only, lazy=[undo_clicked])
