"""Live selects (block_suggestion): answered from the cached lists, never an API call per key."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from blocks import ids
from blocks.messages import options_payload
from bot.domain.accounts import Account
from bot.domain.actors import Actor
from bot.domain.custom_fields import field_options, find_field, ticket_fields
from bot.domain.errors import ResolveError, UserInputError
from bot.domain.fields import FIELDS
from bot.domain.matching import Item, NameIndex
from handlers.kit.deps import SlackDeps
from handlers.kit.identity import acting_account
from handlers.kit.payloads import user_of
from handlers.kit.signed_values import ViewMeta


async def suggest(ack: AsyncAck, body: dict[str, Any], deps: SlackDeps) -> None:
    block_id = body.get("block_id") or ""
    field = ids.field_of_block(block_id)
    custom = ids.custom_of_block(block_id)
    meta = deps.view_meta(body)
    account = deps.config.account(meta.account) if meta else None
    if account is not None and meta is not None and not await _may_see(deps, body, account, meta):
        await ack(options=[])
        return
    query = body.get("value") or ""
    if account is not None:  # the values the person's own account offers, where they have one
        account = await acting_account(deps, account, user_of(body), reading=True)
    if account is not None and custom is not None:
        await ack(**options_payload(await _custom_options(deps, account, custom, query)))
        return
    resource = FIELDS[field].resource if field else None
    if account is None or resource is None:
        await ack(options=[])
        return
    lookup = await deps.core.lookups.get(account, resource)
    found = lookup.index.rank(query, limit=100)
    await ack(**options_payload(found))


async def _may_see(deps: SlackDeps, body: dict[str, Any], account: Account, meta: ViewMeta) -> bool:
    """Only the user the form was opened for, while they may update on this account, gets the
    account's users and values."""
    user = user_of(body)
    if not user or (meta.user and meta.user != user):
        return False
    try:
        await deps.service.check_may_update(
            account, Actor(slack_user_id=user), meta.channel, ask_the_tool=False
        )
    except UserInputError:
        return False
    return True


async def _custom_options(
    deps: SlackDeps, account: Account, custom: tuple[str, str], query: str
) -> list[Item]:
    """A user custom field searches the users; a long enum or multi-select its own options."""
    kind, name = custom
    if kind == "user":
        return (await deps.core.lookups.get(account, "users")).index.rank(query, limit=100)
    fields = await deps.core.lookups.get(account, "fields")
    try:
        definition = find_field(name, ticket_fields(fields.items))
    except ResolveError:
        return []
    return NameIndex(field_options(definition)).rank(query, limit=100)


def register(app: AsyncApp) -> None:
    app.options(ids.FIELD_ACTION)(suggest)
