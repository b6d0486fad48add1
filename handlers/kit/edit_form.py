"""The edit modal: open it (Loading… first, trigger_id lives 3 s), and read a submission.

A submission is compared with the initial values in the submitted view's own blocks (what
the user was shown), so only fields the user changed are sent.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids
from blocks.custom_inputs import custom_inputs
from blocks.modal import EditChoices, edit_view, loading_view, note_view
from blocks.text import escape
from bot.domain.accounts import Account
from bot.domain.actors import Actor
from bot.domain.custom_fields import form_fields, to_number
from bot.domain.matching import item_name
from bot.domain.models import Ref, Ticket
from bot.domain.refs import TicketRef
from bot.service.lookups import LookupList
from bot.service.planner import NEEDS_A_TITLE
from handlers.kit.deps import SlackDeps
from handlers.kit.identity import acting_account
from handlers.kit.payloads import dig, mapping_at
from handlers.kit.signed_values import ViewMeta
from handlers.kit.surface import user_message

log = logging.getLogger(__name__)


async def open_edit(
    deps: SlackDeps,
    client: AsyncWebClient,
    trigger_id: str,
    account: Account,
    ref: TicketRef,
    channel: str | None,
    user: str | None,
    view_id: str | None = None,
) -> None:
    """Show Loading… at once, then the form (or what went wrong) with views.update.

    Who may not update gets told so instead (Refused reaches the user ephemerally)."""
    if view_id is None:
        await deps.service.check_may_update(account, Actor(slack_user_id=user), channel, ask_the_tool=False)
    metadata = ViewMeta(account=account.name, ticket=ref.id, channel=channel, user=user).sign(deps.signer)
    if view_id is None:
        opened = await client.views_open(trigger_id=trigger_id, view=loading_view(ref.id, metadata))
        view_id = opened["view"]["id"]
    try:
        view = await _form(deps, account, ref, channel, user)
    except Exception as exc:
        message = user_message(exc)
        if message is None:
            raise
        view = note_view("Edit ticket", f":warning: {escape(message)}")
    await client.views_update(view_id=view_id, view=view)


async def _form(
    deps: SlackDeps, account: Account, ref: TicketRef, channel: str | None, user: str | None
) -> dict[str, Any]:
    await deps.service.check_may_update(account, Actor(slack_user_id=user), channel)  # can the tool update?
    lookups = deps.core.lookups
    names = (
        "ticket_status",
        "ticket_priorities",
        "teams",
        "ticket_types",
        "users",
        "tags",
        "fields",
        "workspaces",
        "collections",
    )
    # The ticket and its choices as the person can see them (their own account, where they have
    # one): a ticket it may not see opens no form, and nothing of it is shown.
    reader = await acting_account(deps, account, user, reading=True)
    fetching = asyncio.ensure_future(deps.service.fetch_ticket(reader, ref))
    try:
        lists = await asyncio.gather(*(lookups.get(reader, name) for name in names))
    finally:
        ticket = await fetching
    statuses, priorities, teams, types, users, tags, fields, workspaces, collections = lists
    choices = EditChoices(
        statuses=statuses.items if statuses.present else None,
        priorities=priorities.items if priorities.present else None,
        teams=teams.items if teams.present else None,
        types=types.items if types.present else None,
        users=users.present,
        tags=tags.present,
        workspaces=workspaces.items if workspaces.present and workspaces.items else None,
        collections=collections.present,
    )
    abilities = await deps.service.abilities(account)
    # Fields nobody may change here, or that this tool does not take, are left out of the form.
    hidden = set(account.permissions.locked_fields)
    if abilities.body_fields is not None:
        hidden |= {name for name in [*ids.FORM_FIELDS, "custom_fields"] if name not in abilities.body_fields}
    custom = [] if "custom_fields" in hidden else _custom_inputs(account, ticket, fields, users)
    view = edit_view(ticket, choices, "", custom, hidden)
    # The inputs rendered are signed with the rest: a submission with other inputs is refused.
    meta = ViewMeta(
        account=account.name, ticket=ticket.id, channel=channel, user=user, inputs=inputs_digest(view)
    )
    view["private_metadata"] = meta.sign(deps.signer)
    return view


def inputs_digest(view: dict[str, Any]) -> str:
    """A short digest of the form's input blocks (their ids, in order)."""
    block_ids = [str(b.get("block_id", "")) for b in view.get("blocks") or [] if b.get("type") == "input"]
    return hashlib.sha256("\n".join(block_ids).encode()).hexdigest()[:24]


def _custom_inputs(
    account: Account, ticket: Ticket, fields: LookupList, users: LookupList
) -> list[dict[str, Any]]:
    """Inputs for the required custom fields and those the account config lists, when the
    tool has definitions."""
    if not fields.present:
        return []
    shown, unknown = form_fields(fields.items, account.form_custom_fields)
    if unknown:
        log.warning(
            "form_custom_fields names no custom field of this account: %s",
            ", ".join(unknown),
            extra={"account": account.name},
        )
    values = ticket.custom_fields or {}
    wanted = {str(values[f["name"]]) for f in shown if f.get("type") == "user" and values.get(f["name"])}
    user_names = (
        {str(u["id"]): item_name(u) for u in users.items if str(u.get("id")) in wanted} if wanted else {}
    )
    return custom_inputs(shown, values, user_names)


@dataclass
class FormDiff:
    body: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)


def _initial(element: dict[str, Any]) -> Any:
    kind = element.get("type")
    if kind in ("plain_text_input", "number_input"):
        return element.get("initial_value") or ""
    if kind in ("static_select", "external_select"):
        return dig(element, "initial_option", "value")
    if kind in ("multi_external_select", "multi_static_select"):
        return sorted(o["value"] for o in element.get("initial_options") or [])
    if kind == "datepicker":
        return element.get("initial_date")
    if kind == "datetimepicker":
        return element.get("initial_date_time")
    return None


def _submitted(element: dict[str, Any], state: dict[str, Any]) -> tuple[Any, Any]:
    """(comparable value, the value to send)."""
    kind = element.get("type")
    if kind in ("plain_text_input", "number_input"):
        text = (state.get("value") or "").strip()
        return text, text
    if kind in ("static_select", "external_select"):
        selected = state.get("selected_option")
        if not selected:
            return None, None
        return selected["value"], Ref(id=selected["value"], name=selected["text"]["text"])
    if kind in ("multi_external_select", "multi_static_select"):
        selected = state.get("selected_options") or []
        refs = [Ref(id=o["value"], name=o["text"]["text"]) for o in selected]
        return sorted(r.id for r in refs), refs
    if kind == "datepicker":
        day = state.get("selected_date")
        return day, day
    if kind == "datetimepicker":
        moment = state.get("selected_date_time")
        return moment, moment
    return None, None


def _custom_value(kind: str, sent: Any) -> Any:
    """The custom field's value to send, from what the form submitted (None clears it)."""
    if sent in (None, ""):
        return None
    if isinstance(sent, Ref):
        sent = sent.id
    if isinstance(sent, list):
        return [ref.id for ref in sent]
    if kind == "number":
        try:
            return to_number(sent)
        except ValueError:
            raise ValueError(f"Enter a number, e.g. 3 or 2.5 (got {sent!r}).") from None
    if kind == "bool":
        return sent == "true"
    if kind == "datetime":
        return datetime.fromtimestamp(int(sent), UTC).isoformat().replace("+00:00", "Z")
    if kind == "list":
        return [part.strip() for part in str(sent).split(",") if part.strip()]
    return sent


def read_submission(view: dict[str, Any], *, everything: bool = False) -> FormDiff:
    """Fields whose submitted value differs from what was shown (`everything`: every field
    filled in), as body values; input errors."""
    diff = FormDiff()
    values = mapping_at(view, "state", "values")
    for block in view.get("blocks") or []:
        block_id = block.get("block_id", "")
        field_name = ids.field_of_block(block_id)
        custom = ids.custom_of_block(block_id)
        if (field_name is None and custom is None) or block.get("type") != "input":
            continue
        element = block.get("element") or {}
        state = mapping_at(values, block_id, ids.FIELD_ACTION)
        shown = None if everything else _initial(element)
        compared, sent = _submitted(element, state)
        if compared == shown or (compared in (None, "") and shown in (None, "")):
            continue
        if custom is not None:
            kind, name = custom
            try:
                diff.body.setdefault("custom_fields", {})[name] = _custom_value(kind, sent)
            except ValueError as exc:
                diff.errors[block_id] = str(exc)
            continue
        if field_name == "completed_at" and sent is not None:
            sent = datetime.fromtimestamp(int(sent), UTC).isoformat().replace("+00:00", "Z")
        if field_name == "name" and not compared:
            diff.errors[block["block_id"]] = NEEDS_A_TITLE
            continue
        if (
            element.get("type") == "plain_text_input"
            and field_name in ("status", "ticket_type")
            and not compared
        ):
            diff.errors[block["block_id"]] = (
                f"Leave the {field_name.replace('_', ' ')} as it was, or name one."
            )
            continue
        assert field_name is not None
        diff.body[field_name] = None if compared in ("", None) else sent
    return diff
