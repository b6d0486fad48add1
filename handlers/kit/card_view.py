"""A ticket's card as the bot shows it: what it offers (statuses, Edit, Undo, Share, "Open in
…") for where it is posted, and its blocks, full or as one compact line."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from blocks.card import CardOptions, card_text, compact_blocks, ticket_card
from bot.domain.accounts import Account
from bot.domain.models import Change, Ticket
from handlers.kit.deps import SlackDeps


async def card_options(
    deps: SlackDeps,
    account: Account,
    ticket: Ticket,
    *,
    changes: list[Change] | None = None,
    actor_id: str | None = None,
    shareable: bool = False,
    interactive: bool = True,
    undo_value: str | None = None,
    undo_deletes: bool = False,
    updated_in: str | None = None,
    updated_at: datetime | None = None,
    compact: bool = False,
    channel: str | None = None,
    said: str = "",
    since: Sequence[str] = (),
) -> CardOptions:
    """What a ticket's card (or compact line) shows, statuses from the cached list. In a
    read-only channel, and for a tool that cannot update tickets, only "Open in …" is offered;
    "Sync thread" where the message is the channel's (not a private one) and the tool's
    comments can follow a thread."""
    statuses: list[dict[str, Any]] = []
    can_update = not deps.config.read_only(channel)
    can_sync = False
    if interactive and can_update:
        abilities = await deps.service.abilities(account)
        can_sync = not shareable and abilities.can_sync_threads
        if not compact:
            statuses = list((await deps.core.lookups.get(account, "ticket_status")).items)
            can_update = abilities.can_update
    return CardOptions(
        tool=account.display_tool,
        action_value=deps.ticket_value(account, ticket.id),
        url=ticket.web_url or account.ticket_url(ticket.display_ref),
        statuses=statuses,
        changes=changes or [],
        actor_id=actor_id,
        changed_at=datetime.now(UTC) if actor_id else None,
        shareable=shareable,
        interactive=interactive,
        can_update=can_update,
        undo_value=undo_value,
        undo_deletes=undo_deletes,
        updated_in=updated_in,
        updated_at=updated_at,
        said=said,
        since=since,
        can_sync=can_sync,
    )


def rendered(ticket: Ticket, options: CardOptions, *, compact: bool = False) -> dict[str, Any]:
    """blocks and fallback text of a ticket card, or of its compact line."""
    blocks = compact_blocks(ticket, options) if compact else ticket_card(ticket, options)
    return {"blocks": blocks, "text": card_text(ticket, options.changes)}


async def card_message(
    deps: SlackDeps, account: Account, ticket: Ticket, *, compact: bool = False, **shown: Any
) -> dict[str, Any]:
    """blocks and fallback text of a ticket card (or its compact line); `shown` as card_options."""
    options = await card_options(deps, account, ticket, compact=compact, **shown)
    return rendered(ticket, options, compact=compact)


def channel_card(deps: SlackDeps, account: Account) -> str:
    """What the channel sees after an update on this account: full, compact or none."""
    return account.channel_card or deps.config.settings.channel_card
