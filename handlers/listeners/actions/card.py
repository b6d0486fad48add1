"""Buttons and selects on cards and messages: edit, status, assign to me, share, retry."""

from __future__ import annotations

from collections.abc import Coroutine
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids
from bot.domain.errors import UserInputError
from bot.domain.refs import TicketRef
from handlers.jobs import ticket_changed
from handlers.kit import texts
from handlers.kit.card_view import card_message
from handlers.kit.deps import SlackDeps, deps_of, idempotency_key
from handlers.kit.edit_form import open_edit
from handlers.kit.job_data import JobData
from handlers.kit.job_queue import Busy, enqueue, put_job, take_stored
from handlers.kit.payloads import channel_of, selected_value, text_at, user_of
from handlers.kit.surface import ack_only, asker_of, guarded, in_place, tell_requester

FORGED = texts.FORGED_BUTTON
RETRY_GONE = texts.RETRY_GONE
DOUBLE_CLICK_WINDOW = 10.0  # seconds in which the same click on the same card counts once


def _action(body: dict[str, Any]) -> dict[str, Any]:
    actions = body.get("actions") or [{}]
    return dict(actions[0])


def _target(deps: SlackDeps, body: dict[str, Any], value: str | None = None) -> tuple[Any, TicketRef] | None:
    return deps.read_ticket_value(value if value is not None else _action(body).get("value"))


def _required_target(
    deps: SlackDeps, body: dict[str, Any], value: str | None = None
) -> tuple[Any, TicketRef]:
    """The ticket a button names; a value that does not verify is refused as forged."""
    target = _target(deps, body, value)
    if target is None:
        raise UserInputError(FORGED)
    return target


@guarded
async def edit_clicked(
    body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, deps: SlackDeps
) -> None:
    account, ref = _required_target(deps, body)
    await open_edit(deps, client, body["trigger_id"], account, ref, channel_of(body), user_of(body))


async def _enqueue_card_update(
    deps: SlackDeps,
    body: dict[str, Any],
    target: tuple[Any, TicketRef],
    fields: dict[str, Any],
    assign_me: bool = False,
) -> None:
    """A durable job that updates the ticket and replaces the card it came from."""
    account, ref = target
    action = _action(body)
    user = body.get("user") or {}
    team = text_at(body, "team", "id") or None
    container = body.get("container") or {}
    chosen = selected_value(action)
    # One click is one change: the same click on the same card within seconds is a double click.
    same_click = idempotency_key(
        team, user.get("id"), container.get("message_ts"), action.get("action_id"), ref.id, chosen
    )
    key = idempotency_key(same_click, action.get("action_ts"))
    job = JobData.to_apply(
        account, "card", ref.id, fields, assign_me=assign_me, key=key, **asker_of(body), **in_place(body)
    )
    await enqueue(deps, job, dedupe=same_click, dedupe_ttl=DOUBLE_CLICK_WINDOW)


async def ack_status(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
    deps = deps_of(context)
    # A select has no value of its own: the actions block's id names the ticket (signed).
    target = _target(deps, body, ids.card_value_of_block(_action(body).get("block_id") or ""))
    selected = _action(body).get("selected_option") or {}
    if target is not None and selected:
        status = {"id": selected["value"], "name": selected["text"]["text"]}
        await _queued(context, _enqueue_card_update(deps, body, target, {"status": status}))
    await ack()


async def ack_assign(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
    deps = deps_of(context)
    target = _target(deps, body)
    if target is not None:
        await _queued(context, _enqueue_card_update(deps, body, target, {}, assign_me=True))
    await ack()


async def _queued(context: AsyncBoltContext, enqueueing: Coroutine[Any, Any, Any]) -> None:
    """Queue before the ack; a job that could not be kept is told after it (see refuse_forged)."""
    try:
        await enqueueing
    except Busy:
        context["busy"] = True


@guarded
async def refuse_forged(
    body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """The ack put no job on the queue for a button whose value does not verify (or that could
    not be kept): say so."""
    if context.get("busy"):
        raise Busy()
    deps = deps_of(context)
    action = _action(body)
    value = action.get("value")
    if action.get("action_id") == ids.STATUS_SELECT:
        value = ids.card_value_of_block(action.get("block_id") or "")
    _required_target(deps, body, value)


async def _show_card(
    body: dict[str, Any], respond: AsyncRespond, deps: SlackDeps, *, to_channel: bool
) -> None:
    """The card of the ticket a button names: "Share in channel" posts it for everyone (and
    removes the private one); "Show card" on a compact line shows it to the one who asked."""
    account, ref = _required_target(deps, body)
    ticket = await deps.service.recent_ticket(account, ref)
    channel = text_at(body, "channel", "id") or None
    message = await card_message(deps, account, ticket, shareable=not to_channel, channel=channel)
    await respond(
        response_type="in_channel" if to_channel else "ephemeral", replace_original=False, **message
    )
    if to_channel:
        await respond(delete_original=True)
        card = ticket_changed.through_response_url(body.get("response_url"), used=2)
        if card is not None:
            await ticket_changed.remember(deps, account, ticket, card)


@guarded
async def share_clicked(
    body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await _show_card(body, respond, deps_of(context), to_channel=True)


@guarded
async def show_card_clicked(
    body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    await _show_card(body, respond, deps_of(context), to_channel=False)


async def ack_retry(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
    """Put the stored job back on the queue (same Idempotency-Key), before the ack."""
    deps = deps_of(context)
    job = await take_stored(deps, _action(body).get("value"))
    if job is not None:
        job["retried_from"] = body.get("response_url")
        await _queued(context, put_job(deps, JobData.load(job, deps.config)))
    await ack()
    context["retry_found"] = job is not None


@guarded
async def retry_gone(
    body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    if context.get("busy"):
        raise Busy()
    if not context.get("retry_found"):
        await tell_requester(body, client, respond, RETRY_GONE)


def register(app: AsyncApp) -> None:
    app.action(ids.EDIT_BUTTON)(ack=ack_only, lazy=[edit_clicked])
    app.action(ids.OPEN_BUTTON)(ack_only)
    app.action(ids.STATUS_SELECT)(ack=ack_status, lazy=[refuse_forged])
    app.action(ids.ASSIGN_ME)(ack=ack_assign, lazy=[refuse_forged])
    app.action(ids.SHARE)(ack=ack_only, lazy=[share_clicked])
    app.action(ids.SHOW_CARD)(ack=ack_only, lazy=[show_card_clicked])
    app.action(ids.RETRY)(ack=ack_retry, lazy=[retry_gone])
