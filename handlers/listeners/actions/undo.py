"""Undo on a card posted after an update (for UNDO_MINUTES): sends the previous values of
exactly the fields that changed, if the ticket still reads what the update set. Undo on a new
ticket's card (where the tool deletes tickets): the ticket deleted, by whoever created it only."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids
from bot.domain.accounts import Account
from bot.domain.errors import Notice, UserInputError
from bot.domain.refs import TicketRef
from bot.service.updates import changed_since
from handlers.kit import texts
from handlers.kit.deps import SlackDeps, idempotency_key
from handlers.kit.job_data import JobData
from handlers.kit.job_queue import put_job
from handlers.kit.payloads import action_value
from handlers.kit.surface import ack_only, actor_of, asker_of, guarded, in_place
from handlers.kit.tokens import Held


async def _held(deps: SlackDeps, value: str | None, after: str) -> tuple[Held, dict[str, Any], Account]:
    """What an Undo button holds, while it can still be used; else why not."""
    held = await deps.undos.find(value)
    minutes = deps.config.settings.undo_minutes
    if held is None:
        used = await deps.undos.used(value)
        if used is not None:
            raise Notice(f"Already undone by <@{used.get('user')}>; nothing more was sent.")
        raise UserInputError(f"Undo is no longer available: it works for {minutes} minutes after {after}.")
    record = held.value
    account = deps.config.account(str(record["account"]))
    if account is None:
        raise UserInputError("Undo is no longer available: the account is not configured any more.")
    return held, record, account


@guarded
async def undo_clicked(
    body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, deps: SlackDeps
) -> None:
    held, record, account = await _held(deps, action_value(body), "a change")
    minutes = deps.config.settings.undo_minutes
    if record.get("delete") is True:  # a create's Undo value sent as an update's
        raise UserInputError(texts.FORGED_BUTTON)
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
    job = JobData.to_apply(
        account,
        "undo",
        record["ticket"],
        record["body"],
        undo_of=record.get("user"),
        key=idempotency_key(held.token, "undo"),  # its own key: an undo is a change of its own
        **asker_of(body, channel=record.get("channel")),
        **in_place(body),
    )
    await put_job(deps, job, once=job.key)


@guarded
async def undo_create_clicked(
    body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, deps: SlackDeps
) -> None:
    held, record, account = await _held(deps, action_value(body), "a ticket is created")
    minutes = deps.config.settings.undo_minutes
    if record.get("delete") is not True:
        raise UserInputError(texts.FORGED_BUTTON)
    clicker = actor_of(body)
    if clicker.slack_user_id != record.get("user"):
        # Deleting is for whoever created it: a ticket others may already be working on.
        raise UserInputError(
            f"Only <@{record.get('user')}>, who created {record.get('ref')}, can undo its creation."
        )
    await deps.service.check_may_update(account, clicker, record.get("channel"), ask_the_tool=False)
    await deps.undos.discard(held, used_by={"user": clicker.slack_user_id}, remember_for=minutes * 60)
    job = JobData.for_account(
        account,
        kind="delete",
        surface="undo",
        ticket=str(record["ticket"]),
        key=idempotency_key(held.token, "undo"),
        **asker_of(body, channel=record.get("channel")),
        **in_place(body),
    )
    await put_job(deps, job, once=job.key)


def register(app: AsyncApp) -> None:
    app.action(ids.UNDO)(ack=ack_only, lazy=[undo_clicked])
    app.action(ids.UNDO_CREATE)(ack=ack_only, lazy=[undo_create_clicked])
