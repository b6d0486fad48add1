"""The create form's submission: checked on the form (its signed metadata and inputs, a title),
then written as the create's durable job before the form closes. The same view submitted twice
(a double click, Slack's retry) is one job and one ticket: its key is the view's id and hash."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from blocks import ids
from bot.domain.models import TicketUpdate
from handlers.kit.create_form import read_create
from handlers.kit.deps import SlackDeps, idempotency_key
from handlers.kit.edit_form import inputs_digest
from handlers.kit.job_data import JobData
from handlers.kit.job_queue import Busy, enqueue
from handlers.kit.payloads import text_at
from handlers.kit.surface import asker_of

EXPIRED = "This form can't be used any more; run /ticket create (or the shortcut) again."


def _first_input(view: dict[str, Any]) -> str:
    inputs = [b.get("block_id") for b in view.get("blocks") or [] if b.get("type") == "input"]
    return str(inputs[0]) if inputs and inputs[0] else ids.field_block("name")


async def ack_create(ack: AsyncAck, body: dict[str, Any], deps: SlackDeps) -> None:
    view = body["view"]
    meta = deps.view_meta(body)
    account = deps.config.account(meta.account) if meta is not None else None
    user = body.get("user") or {}
    if meta is None or account is None or meta.inputs != inputs_digest(view) or meta.user != user.get("id"):
        # Forged, altered, from another workspace, or another person's form: nothing is created.
        await ack(response_action="errors", errors={_first_input(view): EXPIRED})
        return
    diff = read_create(view)
    if not diff.errors and not diff.body.get("name"):
        diff.errors[ids.field_block("name")] = "A ticket needs a title."
    if diff.errors:
        await ack(response_action="errors", errors=diff.errors)
        return
    key = idempotency_key(text_at(body, "team", "id") or None, user.get("id"), view["id"], view.get("hash"))
    job = JobData.for_account(
        account,
        kind="create",
        surface="form",
        body=TicketUpdate(**diff.body).to_body(),
        key=key,
        reply="post",
        thread_ts=meta.thread,
        author=meta.author,
        **asker_of(body, channel=meta.channel),
    )
    try:
        await enqueue(deps, job, dedupe=key)
    except Busy as busy:
        await ack(response_action="errors", errors={_first_input(view): str(busy)[:150]})
        return
    await ack()


def register(app: AsyncApp) -> None:
    app.view(ids.CREATE_VIEW)(ack_create)
