"""Modal submissions: the edit form, and the ticket pickers of the message shortcut."""

from __future__ import annotations

import asyncio
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids
from blocks.modal import loading_view
from blocks.text import sentence
from bot.domain.accounts import Account
from bot.domain.actors import Actor
from bot.domain.commands import UpdateCommand
from bot.domain.errors import RefError, ResolveError, UserInputError
from bot.domain.models import TicketUpdate
from bot.domain.refs import parse_ref
from bot.truto.errors import TrutoError
from handlers.kit import texts
from handlers.kit.deps import SlackDeps, idempotency_key
from handlers.kit.edit_form import inputs_digest, open_edit, read_submission
from handlers.kit.job_data import JobData
from handlers.kit.job_queue import Busy, enqueue, enqueue_bulk_plan
from handlers.kit.payloads import selected_value, text_at, view_input
from handlers.kit.signed_values import ViewMeta
from handlers.kit.surface import asker_of, guarded, tell_requester

EXPIRED = texts.FORM_EXPIRED
PARENT_CHECK_SECONDS = 1.0  # of Slack's 3 s for a view submission's answer


async def ack_edit(ack: AsyncAck, body: dict[str, Any], deps: SlackDeps) -> None:
    """Validate inline (errors on the right input); a change becomes a durable job, then the
    modal closes at once."""
    meta = deps.view_meta(body)
    if meta is None or meta.inputs != inputs_digest(body["view"]):
        await ack(response_action="errors", errors={_first_input(body["view"]): EXPIRED})
        return
    diff = read_submission(body["view"])
    if diff.errors:
        await ack(response_action="errors", errors=diff.errors)
        return
    if diff.body:
        account = deps.config.account(meta.account)
        problem = await _parent_problem(deps, account, meta.ticket or "", diff.body.get("parent_ticket"))
        if problem:
            await ack(response_action="errors", errors={ids.field_block("parent_ticket"): problem})
            return
        view = body["view"]
        user = body.get("user") or {}
        # The same view and version submitted twice is one change.
        key = idempotency_key(
            text_at(body, "team", "id") or None, user.get("id"), view["id"], view.get("hash")
        )
        if account is None:
            await ack(response_action="errors", errors={_first_input(body["view"]): EXPIRED})
            return
        job = JobData.to_apply(
            account,
            "form",
            meta.ticket or "",
            _job_body(diff.body),
            reply="post",
            key=key,
            **asker_of(body, channel=meta.channel),
        )
        try:
            await enqueue(deps, job, dedupe=key)
        except Busy as busy:
            await ack(response_action="errors", errors={_first_input(body["view"]): str(busy)[:150]})
            return
    await ack()


async def _parent_problem(deps: SlackDeps, account: Account | None, ticket: str, typed: Any) -> str:
    """A parent typed in the form, checked while the form is still open (the mistake is shown
    on the Parent field, with everything typed kept): not a ticket reference, the ticket itself,
    or no such ticket. A look-up that cannot answer in time leaves the check to the job."""
    if account is None or not isinstance(typed, str):
        return ""
    try:
        ref = parse_ref(typed, account.link_patterns)
    except RefError as exc:
        return str(exc)[:150]
    if ref.id.upper() == ticket.upper():
        return f"{ticket} can't be its own parent."
    try:
        await asyncio.wait_for(deps.service.resolver.parent(account, ref), PARENT_CHECK_SECONDS)
    except ResolveError as exc:
        return sentence(str(exc))[:150]
    except (TimeoutError, TrutoError):
        return ""
    return ""


def _job_body(body: dict[str, Any]) -> dict[str, Any]:
    """The submitted values as a body; a parent typed as a key stays text, for the job to look
    up its id (a key is not an id on every tool)."""
    parent = body.get("parent_ticket")
    rest = TicketUpdate(**{k: v for k, v in body.items() if k != "parent_ticket"}).to_body()
    return {**rest, "parent_ticket": parent} if "parent_ticket" in body else rest


def _first_input(view: dict[str, Any]) -> str:
    inputs = [b.get("block_id") for b in view.get("blocks") or [] if b.get("type") == "input"]
    return str(inputs[0]) if inputs and inputs[0] else ids.field_block("name")


@guarded
async def note_no_change(body: dict[str, Any], client: AsyncWebClient, deps: SlackDeps) -> None:
    meta = deps.view_meta(body)
    if meta is None or meta.inputs != inputs_digest(body["view"]):
        return  # refused in the ack
    diff = read_submission(body["view"])
    if diff.errors or diff.body:
        return  # answered in the ack, or a job is on its way
    await tell_requester(
        body, client, None, f"No changes to {meta.ticket}; nothing was sent.", channel=meta.channel
    )


def _picked(body: dict[str, Any], block_id: str) -> str:
    value = view_input(body, block_id, ids.PICK_ACTION)
    return (selected_value(value) or text_at(value, "value")).strip()


def _all_changes(body: dict[str, Any]) -> str:
    return text_at(view_input(body, ids.ALL_BLOCK, ids.ALL_ACTION), "value").strip()


async def _update_all(ack: AsyncAck, body: dict[str, Any], deps: SlackDeps, meta: ViewMeta) -> None:
    """ "Or update all N": the same changes on every ticket the message mentions, as a bulk
    `/ticket update` (a durable job; the preview or the batch's message follows in the channel)."""
    refs = meta.refs
    text = f"update {' '.join(refs)} {_all_changes(body)}"
    user = body.get("user") or {}
    try:
        command = deps.service.parse(text, meta.channel)
        if not isinstance(command, UpdateCommand) or not command.bulk:
            raise UserInputError("write field=value changes, e.g. status=done")
        account = deps.service.account_for_ref(command.ref, meta.channel)
        key = idempotency_key(text_at(body, "team", "id") or None, user.get("id"), body["view"]["id"])
        job = JobData.to_run(
            account, "bulk", text, command.ref.id, key=key, **asker_of(body, channel=meta.channel)
        )
        await enqueue_bulk_plan(deps, job, dedupe=key, tickets=len(command.refs))
    except UserInputError as exc:
        await ack(response_action="errors", errors={ids.ALL_BLOCK: str(exc)[:150]})
        return
    await ack(response_action="clear")


async def ack_pick(ack: AsyncAck, body: dict[str, Any], deps: SlackDeps) -> None:
    """A ticket was chosen or typed: show Loading… in place, the form follows. With changes for
    all the tickets: a bulk update instead."""
    meta = deps.view_meta(body)
    block_id = ids.PICK_BLOCK if body["view"]["callback_id"] == ids.PICK_VIEW else ids.ENTER_BLOCK
    if meta is None:
        await ack(response_action="errors", errors={block_id: EXPIRED})
        return
    if block_id == ids.PICK_BLOCK and _all_changes(body):
        await _update_all(ack, body, deps, meta)
        return
    account = deps.config.account(meta.account)
    try:
        ref = parse_ref(_picked(body, block_id), account.link_patterns if account else ())
        # Refused on the form, with what was typed kept (no API call: the ack is Slack's 3 s).
        owner = deps.service.account_for_ref(ref, meta.channel)
        actor = Actor(slack_user_id=meta.user)
        await deps.service.check_may_update(owner, actor, meta.channel, ask_the_tool=False)
    except UserInputError as exc:
        await ack(response_action="errors", errors={block_id: sentence(str(exc))[:150]})
        return
    await ack(response_action="update", view=loading_view(ref.id))


@guarded
async def open_picked(body: dict[str, Any], client: AsyncWebClient, deps: SlackDeps) -> None:
    meta = deps.view_meta(body)
    if meta is None:
        return
    account = deps.config.account(meta.account)
    if account is None:
        raise UserInputError(EXPIRED)
    block_id = ids.PICK_BLOCK if body["view"]["callback_id"] == ids.PICK_VIEW else ids.ENTER_BLOCK
    if block_id == ids.PICK_BLOCK and _all_changes(body):
        return  # a bulk update: queued in the ack
    try:
        ref = parse_ref(_picked(body, block_id), account.link_patterns)
    except RefError:
        return  # answered in the ack
    owner = deps.service.account_for_ref(ref, meta.channel)  # a Linear link picked in a Jira channel
    try:
        await deps.service.check_may_update(
            owner, Actor(slack_user_id=meta.user), meta.channel, ask_the_tool=False
        )
    except UserInputError:
        return  # answered in the ack, on the form
    await open_edit(deps, client, "", owner, ref, meta.channel, meta.user, view_id=body["view"]["id"])


def register(app: AsyncApp) -> None:
    app.view(ids.EDIT_VIEW)(ack=ack_edit, lazy=[note_no_change])
    app.view(ids.PICK_VIEW)(ack=ack_pick, lazy=[open_picked])
    app.view(ids.ENTER_VIEW)(ack=ack_pick, lazy=[open_picked])
