"""Who acts on the tool for a person: their own connection, or the workspace's, as the account's
identity policy says (`personal-preferred`, `shared`, `personal-required`). A write or a read
through a person's own account carries its integrated account id; the tool then records them as
the author and applies its own permissions to them."""

from __future__ import annotations

import logging
from collections.abc import Awaitable
from typing import TypeVar

from bot.domain.accounts import Account
from bot.domain.errors import Refused
from bot.truto.errors import Forbidden, TrutoError
from handlers.kit.deps import SlackDeps

log = logging.getLogger(__name__)


class ConnectYourAccount(Refused):
    """`personal-required` and the person has no connection of their own: nothing is sent."""


async def acting_account(
    deps: SlackDeps, account: Account, user: str | None, *, reading: bool = False
) -> Account:
    """The account to act through for `user` (None: nobody Slack vouched for: the workspace's).
    `reading`: a read follows the reader's own account where they have one, else the
    workspace's (only changes need their own under `personal-required`)."""
    store = deps.personal
    if account.identity == "shared" or account.acting_as is not None:
        return account
    asking = store is not None and user and deps.people_connected
    workspace = await deps.workspace_id() if asking else None
    if store is not None and user and workspace:
        for mine in await store.of_person(workspace, user):
            if mine.shared_account_id == account.integrated_account_id and mine.status == "active":
                return account.model_copy(
                    update={"integrated_account_id": mine.integrated_account_id, "acting_as": user}
                )
    if account.identity == "personal-required" and not reading:
        if not user:  # a workflow no person started has no account of its own
            raise ConnectYourAccount(
                f"{account.display_tool} changes here are made only as a person, through their own "
                "account: start the workflow from a link, a shortcut or a button (its Interactivity input)"
            )
        raise ConnectYourAccount(
            f"{account.display_tool} changes here are made as yourself: connect your own "
            f"{account.display_tool} account first with /ticket connect"
        )
    return account


def as_whom(account: Account) -> str:
    """How the card and the audit trail say who acted in the tool."""
    if account.acting_as:
        return f"as themselves in {account.display_tool}"
    return f"via the team's {account.display_tool} connection"


async def disconnect(deps: SlackDeps, user: str) -> list[str]:
    """`user`'s own connections in this workspace forgotten, and deleted in the unified API (a
    deletion the API refuses leaves an unused account there, never one used here)."""
    workspace = await deps.workspace_id()
    if deps.personal is None or workspace is None:
        return []
    gone = await deps.personal.forget(workspace, user)
    for integrated in gone:
        try:
            await deps.core.client.delete_integrated_account(integrated)
        except TrutoError as exc:
            log.warning("personal account %s not deleted in the unified API: %s", integrated, exc)
    return gone


Outcome = TypeVar("Outcome")


async def refused_as_theirs(account: Account, running: Awaitable[Outcome], what: str) -> Outcome:
    """The tool's refusal (403) of a person's own account is theirs, not the bot's settings:
    "Jira does not let you <what> (your account lacks permission)"."""
    try:
        return await running
    except Forbidden:
        if account.acting_as is None:
            raise
        raise Refused(
            f"{account.display_tool} does not let you {what} (your account lacks permission)"
        ) from None
