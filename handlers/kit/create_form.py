"""The create form: opened (Loading… first: a trigger_id lives 3 s), prefilled from a `/ticket
create` line or a message, laid out by the account's create meta; and its submission read."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids
from blocks.custom_inputs import custom_inputs
from blocks.modal import CreateLayout, EditChoices, create_view, loading_view, note_view
from blocks.text import escape
from bot.domain.accounts import Account
from bot.domain.actors import Actor
from bot.domain.commands import Assignment
from bot.domain.custom_fields import form_fields
from bot.domain.errors import UserInputError
from bot.domain.fields import field_list
from bot.domain.models import Ref, Ticket
from bot.service.creating import Missing
from handlers.kit.deps import SlackDeps
from handlers.kit.edit_form import FormDiff, inputs_digest, read_submission
from handlers.kit.identity import acting_account
from handlers.kit.signed_values import ViewMeta
from handlers.kit.surface import user_message

log = logging.getLogger(__name__)

_LISTS = (
    "ticket_priorities",
    "teams",
    "ticket_types",
    "users",
    "tags",
    "fields",
    "workspaces",
    "collections",
)


@dataclass(frozen=True)
class Prefill:
    """What the form starts with: a title and description (a message's), fields as typed (a
    `/ticket create` line's, resolved where they can be), and where it came from."""

    title: str = ""
    description: str = ""
    assignments: tuple[Assignment, ...] = ()
    note: str = ""  # mrkdwn, escaped by the caller
    thread: str | None = None  # the message's thread, when made from a message
    author: str | None = None  # who wrote that message
    custom: dict[str, Any] = field(default_factory=dict)
    name_missing: bool = False  # say on the form what the tool requires and was not typed


async def open_create(
    deps: SlackDeps,
    client: AsyncWebClient,
    trigger_id: str,
    account: Account,
    channel: str | None,
    user: str | None,
    prefill: Prefill,
) -> list[Missing]:
    """Loading… at once, then the form (or why there is none) in its place; what the tool
    requires and the prefill lacks (when `prefill.name_missing`). Who may not create is refused
    before anything opens (the refusal reaches them privately)."""
    actor = Actor(slack_user_id=user)
    await deps.service.creator.check_may_create(account, actor, channel, ask_the_tool=False)
    opened = await client.views_open(
        trigger_id=trigger_id, view=loading_view("the form", title="Create ticket")
    )
    missing: list[Missing] = []
    try:
        view, missing = await _form(deps, account, channel, user, prefill)
    except Exception as exc:
        message = user_message(exc)
        if message is None:
            raise
        view = note_view("Create ticket", f":warning: {escape(message)}")
    await client.views_update(view_id=opened["view"]["id"], view=view)
    return missing


def _as_ref(value: Any) -> dict[str, Any] | None:
    if isinstance(value, Ref):
        return value.model_dump(exclude_none=True)
    return None


async def _prefilled(deps: SlackDeps, account: Account, actor: Actor, prefill: Prefill) -> Ticket:
    """The values typed, resolved as a create's would be; one that does not resolve is left empty
    (the answer beside the form names it)."""
    data: dict[str, Any] = {"id": "", "name": prefill.title, "description": prefill.description or None}
    custom: dict[str, Any] = dict(prefill.custom)
    for assignment in prefill.assignments:
        try:
            value = await deps.service.resolver.value(account, assignment, actor)
        except UserInputError:
            continue
        if assignment.custom_key is not None:
            name, typed = value
            custom[name] = typed
        elif isinstance(value, list):
            data[assignment.field] = [r for r in (_as_ref(v) for v in value) if r]
        elif isinstance(value, date):
            data[assignment.field] = value.isoformat()
        elif isinstance(value, Ref):
            data[assignment.field] = [_as_ref(value)] if assignment.field == "collections" else _as_ref(value)
        elif isinstance(value, str):
            data[assignment.field] = value
    data["custom_fields"] = custom
    try:
        return Ticket.model_validate(data)
    except ValueError:
        return Ticket(id="", name=prefill.title, description=prefill.description or None)


def typed_body(title: str, assignments: Sequence[Assignment]) -> dict[str, Any]:
    """What was typed, as far as which fields it names (for what is missing)."""
    body: dict[str, Any] = {a.field: True for a in assignments if a.custom_key is None}
    if title:
        body["name"] = title
    custom = {a.custom_key: True for a in assignments if a.custom_key is not None}
    if custom:
        body["custom_fields"] = custom
    return body


async def _form(
    deps: SlackDeps, account: Account, channel: str | None, user: str | None, prefill: Prefill
) -> tuple[dict[str, Any], list[Missing]]:
    actor = Actor(slack_user_id=user)
    creator = deps.service.creator
    await creator.check_may_create(account, actor, channel)
    # The choices as the person sees them in the tool (their own account, where they have one).
    reader = await acting_account(deps, account, user, reading=True)
    schema = await creator.schema(account)
    lists = await asyncio.gather(*(deps.core.lookups.get(reader, name) for name in _LISTS))
    priorities, teams, types, users, tags, fields, workspaces, collections = lists
    choices = EditChoices(
        statuses=None,
        priorities=priorities.items if priorities.present else None,
        teams=teams.items if teams.present else None,
        types=types.items if types.present else None,
        users=users.present,
        tags=tags.present,
        workspaces=workspaces.items if workspaces.present and workspaces.items else None,
        collections=collections.present,
    )
    hidden = set(account.permissions.locked_fields)
    if schema.body_fields is not None:
        hidden |= {name for name in [*ids.FORM_FIELDS, "custom_fields"] if name not in schema.body_fields}
    note, missing = prefill.note, []
    if prefill.name_missing:
        found = await creator.missing(account, typed_body(prefill.title, prefill.assignments), schema)
        missing = [m for m in found if m.field != "name"]
        if missing:
            names = escape(field_list([m.label for m in missing]))
            tool = escape(account.display_tool)
            note = f":pencil2: {tool} needs {names} for a new ticket: fill them in below."
    layout = CreateLayout(
        projects=collections.items if collections.present and collections.items else None,
        required=frozenset(schema.required_body),
        hidden=frozenset(hidden),
        note=note,
    )
    ticket = await _prefilled(deps, account, actor, prefill)
    custom: list[dict[str, Any]] = []
    if "custom_fields" not in hidden and fields.present:
        shown, _ = form_fields(fields.items, account.form_custom_fields)
        custom = custom_inputs(shown, ticket.custom_fields or {}, {})
    view = create_view(ticket, choices, "", layout, custom)
    meta = ViewMeta(
        account=account.name,
        channel=channel,
        user=user,
        inputs=inputs_digest(view),
        thread=prefill.thread,
        author=prefill.author,
    )
    view["private_metadata"] = meta.sign(deps.signer)
    return view, missing


def read_create(view: dict[str, Any]) -> FormDiff:
    """Every field filled in (a new ticket has no "as it was"), as body values; the project
    chosen as the one collection it goes in."""
    diff = read_submission(view, everything=True)
    project = diff.body.get("collections")
    if isinstance(project, Ref):
        diff.body["collections"] = [project]
    diff.body = {k: v for k, v in diff.body.items() if v is not None}
    if "custom_fields" in diff.body:
        diff.body["custom_fields"] = {k: v for k, v in diff.body["custom_fields"].items() if v is not None}
    return diff
