"""Buttons and selects on cards and messages: edit, status, assign to me, share, retry."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks import ids
from bot.models import Ref
from bot.refs import TicketRef
from bot.service import UserInputError
from handlers.deps import SlackDeps, actor_of, deps_of, idempotency_key
from handlers.edit_form import open_edit
from handlers.jobs import run_stored_update
from handlers.surface import ack_only, card_message, channel_of, guarded

FORGED = "This button is not valid any more (it may be from an old or altered message)."


def _action(body: dict[str, Any]) -> dict[str, Any]:
    actions = body.get("actions") or [{}]
    return dict(actions[0])


def _target(deps: SlackDeps, body: dict[str, Any]) -> tuple[Any, TicketRef]:
    found = deps.read_ticket_value(_action(body).get("value"))
    if found is None:
        raise UserInputError(FORGED)
    return found


def _action_key(body: dict[str, Any]) -> str:
    action = _action(body)
    user = (body.get("user") or {}).get("id")
    return idempotency_key(
        (body.get("team") or {}).get("id"), user, action.get("action_id"), action.get("action_ts")
    )


@guarded
async def edit_clicked(body: dict[str, Any], client: Any, respond: Any, context: Any) -> None:
    deps = deps_of(context)
    account, ref = _target(deps, body)
    await open_edit(
        deps, client, body["trigger_id"], account, ref, channel_of(body), (body.get("user") or {}).get("id")
    )


async def _apply_from_card(
    deps: SlackDeps, body: dict[str, Any], respond: Any, account: Any, ref: TicketRef, fields: dict[str, Any]
) -> None:
    """Apply, then replace the card the button was on (no new message)."""
    actor = actor_of(body)
    result = await deps.service.apply_fields(
        account, ref, fields, actor=actor, channel=channel_of(body), idempotency_key=_action_key(body)
    )
    message = await card_message(
        deps,
        result.account,
        result.ticket,
        changes=result.changes,
        actor_id=actor.slack_user_id,
        shareable=_is_ephemeral(body),
    )
    await respond(replace_original=True, **message)


def _is_ephemeral(body: dict[str, Any]) -> bool:
    return bool((body.get("container") or {}).get("is_ephemeral"))


@guarded
async def status_chosen(body: dict[str, Any], client: Any, respond: Any, context: Any) -> None:
    deps = deps_of(context)
    value = ids.card_value_of_block(_action(body).get("block_id") or "")
    found = deps.read_ticket_value(value)
    if found is None:
        raise UserInputError(FORGED)
    account, ref = found
    selected = _action(body).get("selected_option") or {}
    status = Ref(id=selected["value"], name=selected["text"]["text"])
    await _apply_from_card(deps, body, respond, account, ref, {"status": status})


@guarded
async def assign_to_me(body: dict[str, Any], client: Any, respond: Any, context: Any) -> None:
    deps = deps_of(context)
    account, ref = _target(deps, body)
    me = await deps.service.user_ref(account, actor_of(body))
    await _apply_from_card(deps, body, respond, account, ref, {"assignees": [me]})


@guarded
async def share_clicked(body: dict[str, Any], client: Any, respond: Any, context: Any) -> None:
    deps = deps_of(context)
    account, ref = _target(deps, body)
    ticket = await deps.service.recent_ticket(account, ref)
    message = await card_message(deps, account, ticket)
    await respond(response_type="in_channel", replace_original=False, **message)
    await respond(delete_original=True)


@guarded
async def retry_clicked(body: dict[str, Any], client: Any, respond: Any, context: Any) -> None:
    deps = deps_of(context)
    await run_stored_update(deps, client, body, respond, _action(body).get("value"))


def register(app: AsyncApp) -> None:
    app.action(ids.EDIT_BUTTON)(ack=ack_only, lazy=[edit_clicked])
    app.action(ids.OPEN_BUTTON)(ack_only)
    app.action(ids.STATUS_SELECT)(ack=ack_only, lazy=[status_chosen])
    app.action(ids.ASSIGN_ME)(ack=ack_only, lazy=[assign_to_me])
    app.action(ids.SHARE)(ack=ack_only, lazy=[share_clicked])
    app.action(ids.RETRY)(ack=ack_only, lazy=[retry_clicked])
