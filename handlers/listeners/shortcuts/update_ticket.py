"""The message shortcut "Update ticket": find the tickets a message links, then edit one."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids
from blocks.modal import enter_ticket_view, pick_ticket_view
from bot.domain.accounts import Account
from bot.domain.actors import Actor
from bot.domain.errors import NotPermitted
from bot.domain.refs import BUILTIN_LINK_PATTERNS, TicketRef, find_refs
from handlers.kit.deps import SlackDeps
from handlers.kit.edit_form import open_edit
from handlers.kit.payloads import text_at, user_of
from handlers.kit.signed_values import ViewMeta
from handlers.kit.surface import ack_only, guarded


def _strings(node: Any) -> Iterator[str]:
    """Every text and URL in a message: its text, attachments, and blocks at any depth."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            if key not in ("type", "block_id", "style", "ts", "user", "team", "bot_id", "app_id"):
                yield from _strings(value)
    elif isinstance(node, list):
        for value in node:
            yield from _strings(value)


def refs_in_message(
    message: dict[str, Any], patterns: tuple[str, ...], key_prefixes: Collection[str] | None = None
) -> list[TicketRef]:
    parts = [
        message.get("text") or "",
        *_strings(message.get("attachments")),
        *_strings(message.get("blocks")),
    ]
    return find_refs("\n".join(parts), patterns, key_prefixes)


_PREFIX = re.compile(r"^[A-Z][A-Z0-9]{1,9}$")


async def known_prefixes(deps: SlackDeps, account: Account) -> frozenset[str] | None:
    """The account's key prefixes: configured, and its collections' names that read as one
    (from the cache only: no API call before the modal opens). None when nothing is known: then
    every bare key counts, as before."""
    prefixes = {p.upper() for p in account.key_prefixes}
    collections = await deps.core.lookups.cached(account, "collections")
    if collections is not None and collections.present:
        prefixes |= {str(c.get("name")) for c in collections.items if _PREFIX.match(str(c.get("name") or ""))}
    return frozenset(prefixes) or None


@guarded
async def shortcut_used(body: dict[str, Any], client: AsyncWebClient, deps: SlackDeps) -> None:
    channel = text_at(body, "channel", "id") or None
    user = user_of(body)
    account = deps.service.account_for(channel)
    await deps.service.check_may_update(account, Actor(slack_user_id=user), channel, ask_the_tool=False)
    refs = refs_in_message(
        body.get("message") or {}, account.link_patterns, await known_prefixes(deps, account)
    )
    choices = await _updatable(deps, refs[:50], account, channel, user)
    found = [value for value, _ in choices]
    metadata = ViewMeta(account=account.name, channel=channel, user=user, refs=found).sign(deps.signer)
    if len(choices) == 1:
        # A link is edited on the account it belongs to (a Linear link in a Jira channel).
        ref = next(r for r in refs if (r.url or r.id) == found[0])
        owner = deps.service.account_for_ref(ref, channel)
        await open_edit(deps, client, body["trigger_id"], owner, ref, channel, user)
    elif choices:
        await client.views_open(trigger_id=body["trigger_id"], view=pick_ticket_view(choices, metadata))
    else:
        looked_for = ", ".join([*BUILTIN_LINK_PATTERNS, "keys like PROJ-42"])
        if account.link_patterns:
            looked_for += (
                f" and {len(account.link_patterns)} link patterns of the {account.display_tool} account"
            )
        await client.views_open(trigger_id=body["trigger_id"], view=enter_ticket_view(looked_for, metadata))


async def _updatable(
    deps: SlackDeps, refs: list[TicketRef], account: Account, channel: str | None, user: str | None
) -> list[tuple[str, str]]:
    """The tickets this person may update from this channel, each as (value, label): a ticket of
    another tool (a Linear link in a Jira channel) is named with its tool. When the message
    links only tickets they may not update, the first refusal is the answer."""
    choices: list[tuple[str, str]] = []
    refused: NotPermitted | None = None
    for ref in refs:
        owner = deps.service.account_for_ref(ref, channel)
        if owner is not account:
            try:
                await deps.service.check_may_update(
                    owner, Actor(slack_user_id=user), channel, ask_the_tool=False
                )
            except NotPermitted as exc:
                refused = refused or exc
                continue
        label = ref.id if owner is account else f"{ref.id} ({owner.display_tool})"
        choices.append((ref.url or ref.id, label))
    if refs and not choices and refused is not None:
        raise refused
    return choices


def register(app: AsyncApp) -> None:
    app.message_shortcut(ids.MESSAGE_SHORTCUT)(ack=ack_only, lazy=[shortcut_used])
