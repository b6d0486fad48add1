"""The workspace settings modal (distributed mode): opened from the Home tab by a workspace admin
or owner, saved in the database (checked again on submit: only an admin's form is saved), in
effect in this process at once and on every replica within seconds."""

from __future__ import annotations

import logging
from typing import Any

from pydantic import ValidationError
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids
from blocks.modal import note_view
from blocks.settings import settings_view
from bot.domain.workspace_settings import WorkspaceSettings, reactions_from_lines
from handlers.kit.deps import SlackDeps
from handlers.kit.payloads import mapping_at, private_metadata, selected_value, user_of, view_values
from handlers.kit.surface import ack_only, guarded
from handlers.listeners.home.tab import publish_for

log = logging.getLogger(__name__)
ADMINS_ONLY = "Only workspace admins and owners can change these settings."
EXPIRED = "This form has expired; open the settings again from the Home tab."


async def _is_admin(deps: SlackDeps, user: str) -> bool:
    directory = deps.core.slack_directory
    return directory is not None and await directory.is_admin(user)


@guarded
async def open_settings(body: dict[str, Any], client: AsyncWebClient, deps: SlackDeps) -> None:
    if deps.onboarding is None or deps.tenant is None:
        return
    user = user_of(body) or ""
    if not await _is_admin(deps, user):
        await client.views_open(trigger_id=body["trigger_id"], view=note_view("Settings", ADMINS_ONLY))
        return
    tools = [
        (c.integrated_account_id, c.tool) for c in await deps.onboarding.connections(deps.tenant) if c.active
    ]
    settings = await deps.onboarding.settings(deps.tenant)
    metadata = deps.signer.sign({"settings": [account for account, _ in tools]})
    await client.views_open(trigger_id=body["trigger_id"], view=settings_view(tools, settings, metadata))


def _values(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {block: mapping_at(inputs, ids.SETTINGS_VALUE) for block, inputs in view_values(body).items()}


def _read(values: dict[str, dict[str, Any]], accounts: list[str]) -> tuple[dict[str, Any], dict[str, str]]:
    """The settings' fields as submitted, and the errors by block (a channel chosen twice)."""
    channels: dict[str, str] = {}
    errors: dict[str, str] = {}
    tool_of = {account: n for n, account in enumerate(accounts)}
    for account, n in tool_of.items():
        block = f"{ids.SETTINGS_CHANNELS}{n}"
        for channel in values.get(block, {}).get("selected_conversations") or []:
            if channel in channels:
                errors[block] = f"<#{channel}> is chosen for another tool above; a channel uses one tool."
            channels[channel] = account
    default = selected_value(values.get(ids.SETTINGS_DEFAULT))
    card = selected_value(values.get(ids.SETTINGS_CHANNEL_CARD))
    steps = selected_value(values.get(ids.SETTINGS_WORKFLOW_STEPS))
    guests = selected_value(values.get(ids.SETTINGS_GUESTS))
    identity = selected_value(values.get(ids.SETTINGS_IDENTITY))
    create = selected_value(values.get(ids.SETTINGS_CREATE))
    try:
        reactions = reactions_from_lines(values.get(ids.SETTINGS_REACTIONS, {}).get("value") or "")
    except ValueError as exc:
        errors[ids.SETTINGS_REACTIONS] = str(exc)[:150]
        reactions = {}
    fields = {
        "channels": channels,
        "default_account": default if default in tool_of else None,
        "users": tuple(values.get(ids.SETTINGS_USERS, {}).get("selected_users") or ()),
        "usergroups": tuple(
            (values.get(ids.SETTINGS_USERGROUPS, {}).get("value") or "").replace(",", " ").split()
        ),
        "read_only_channels": tuple(
            values.get(ids.SETTINGS_READ_ONLY, {}).get("selected_conversations") or ()
        ),
        "locked_fields": tuple(
            o.get("value") for o in values.get(ids.SETTINGS_LOCKED, {}).get("selected_options") or ()
        ),
        "channel_card": None if card in (None, "default") else card,
        "reactions": reactions,
        "workflow_steps": steps or "person",
        "guests": guests == "guests",
        "identity": identity or "personal-preferred",
        "create": create != "off",
    }
    return fields, errors


async def ack_save(ack: AsyncAck, body: dict[str, Any], deps: SlackDeps) -> None:
    """Checked and saved before the modal closes, so a mistake is answered on the form."""
    first = f"{ids.SETTINGS_CHANNELS}0"
    signed = deps.signer.verify(private_metadata(body))
    accounts = signed.get("settings") if signed is not None else None
    if deps.onboarding is None or deps.tenant is None or not isinstance(accounts, list):
        await ack(response_action="errors", errors={first: EXPIRED})
        return
    user = user_of(body) or ""
    if not await _is_admin(deps, user):
        await ack(response_action="errors", errors={first: ADMINS_ONLY})
        return
    fields, errors = _read(_values(body), [str(a) for a in accounts])
    if errors:
        await ack(response_action="errors", errors=errors)
        return
    try:
        settings = WorkspaceSettings(**fields)
    except ValidationError as exc:
        where = {"usergroups": ids.SETTINGS_USERGROUPS, "users": ids.SETTINGS_USERS}
        field = str(exc.errors()[0]["loc"][0])
        message = exc.errors()[0]["msg"].removeprefix("Value error, ")
        if field == "usergroups":
            message += " (user group ids look like S0123ABCD: the group's profile → Copy ID)"
        await ack(response_action="errors", errors={where.get(field, first): message[:150]})
        return
    await deps.onboarding.save_settings(deps.tenant, settings, user)
    log.info("workspace settings of %s saved by %s", deps.tenant, user)
    await ack()


@guarded
async def republish(body: dict[str, Any], client: AsyncWebClient, deps: SlackDeps) -> None:
    user = user_of(body)
    fresh = await deps.onboarding.deps_for(deps.tenant) if deps.onboarding and deps.tenant else None
    if user and fresh is not None:
        await publish_for(fresh, client, str(user))


def register(app: AsyncApp) -> None:
    app.action(ids.OPEN_SETTINGS)(ack=ack_only, lazy=[open_settings])
    app.view(ids.SETTINGS_VIEW)(ack=ack_save, lazy=[republish])
