"""The query of an update: the account's configured parameters, and those the tool requires,
taken from the ticket itself where it carries them."""

from __future__ import annotations

from typing import Any

from bot.domain.accounts import PER_VERSION_PARAMS, Account
from bot.domain.errors import UserInputError
from bot.domain.models import Ticket, TicketRefObject, UpdateQuery
from bot.truto.discovery import Abilities


def update_query(account: Account, abilities: Abilities, before: Ticket) -> UpdateQuery:
    """The query of a PATCH: configured parameters, then each required one from the ticket.
    Raises UserInputError naming a required parameter nobody can give."""
    configured = account.query.for_operation("update")
    # Never the meta's default_query (what the API does by itself): configured, then required.
    params: dict[str, Any] = dict(configured)
    for name in abilities.required_query:
        derived = from_ticket(before, name)
        if derived is not None:
            params[name] = derived
        elif name not in params:
            raise UserInputError(missing_query(account, before, name))
    return UpdateQuery(integrated_account_id=account.integrated_account_id, **params)


def _ref_id(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, TicketRefObject):
        return value.id
    if isinstance(value, dict):
        found = value.get("id")
        return str(found) if found else None
    if isinstance(value, str | int) and not isinstance(value, bool):
        return str(value) or None
    return None


def from_ticket(ticket: Ticket, name: str) -> str | None:
    """A required query parameter the ticket carries: `workspace_id`/`workspace` from its
    workspace, `collection_id` from its first collection, `etag` from its version, `ticket_type`
    from its type, `organization_id` from its account (organisation), any `<name>_id` from
    `<name>.id`. None when the ticket does not carry it."""
    extra = ticket.model_extra or {}
    if name not in ("etag", "ticket_type", "organization_id") and not (
        name.endswith("_id") or name in Ticket.model_fields
    ):
        return None
    if name == "etag":
        value = extra.get("etag") or extra.get("_etag")
        return str(value) if value else None
    if name == "ticket_type":
        return _ref_id(ticket.ticket_type)
    if name == "organization_id":
        return _ref_id(ticket.account) or _ref_id(extra.get("organization"))
    base = name.removesuffix("_id")
    for candidate in (base, f"{base}s"):  # collection_id → collections, workspace → workspace
        found = _ref_id(ticket.value(candidate))
        if found:
            return found
    return None


def missing_query(account: Account, ticket: Ticket, name: str) -> str:
    if name in PER_VERSION_PARAMS:
        return (
            f"the {account.display_tool} account needs {name} for updates and the tool did not send "
            f"one with {ticket.display_ref}; try again in a moment"
        )
    return (
        f"the {account.display_tool} account needs {name} for updates and {ticket.display_ref} does "
        f"not carry it; an admin can set it as accounts.{account.name}.query.update.{name} in the "
        "ticketbot config"
    )
