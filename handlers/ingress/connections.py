"""Connecting a workspace's tracker from Slack (distributed mode), through the unified API's
link tokens and its signed `integrated_account:*` events (connection-flow.md).

- The Home tab of a workspace admin offers **Connect your tracker**: a link token for the
  workspace's tenant opens the hosted connect page; who opened it is remembered with the tenant.
- `:active` / `:reactivated` for an installed tenant stores the account, and the admin who
  connected it hears so (a DM naming the tool and a command to try); their Home tab is published
  again. An event whose tenant names no installed workspace does nothing.
- `:authentication_error`, `:validation_error`, `:post_install_error`: the admin is told, with a
  **Reconnect** button (a link token for that account, its context kept).
- `:deleted`: the account is forgotten.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks.messages import connection_message, tool_examples
from bot.domain.accounts import Account
from bot.domain.errors import UserInputError
from bot.domain.models import Ticket
from bot.domain.tenants import Connection
from bot.domain.workspace_settings import WorkspaceSettings
from bot.store import keys
from bot.store.cache import Entry
from bot.store.sql.personal_connections import PersonalConnections
from bot.truto.errors import TrutoError
from bot.truto.webhook_events import Delivery
from handlers.ingress.own_accounts import ACCOUNT_EVENT, FAILURES, OwnAccounts, mapping_of, text_of
from handlers.kit.deps import SlackDeps
from handlers.kit.tenancy import Tenancy
from handlers.listeners.home import tab as home
from handlers.listeners.shortcuts.update_ticket import known_prefixes

log = logging.getLogger(__name__)

CONNECTOR_SECONDS = 7 * 86400.0  # as long as a link token lives


def _connector_key(tenant: str) -> str:
    return keys.key("connect", tenant)


async def _prefix_of_a_ticket(deps: SlackDeps, account: Account) -> list[str]:
    """The key prefix of one of the account's tickets (ENG of ENG-7), where its collections'
    names are not keys (Linear's teams): one list call of one ticket."""
    async for item in deps.core.client.list_all(account, "tickets", limit=1):
        key = Ticket.model_validate(item).display_ref.split("-", 1)[0]
        return [key] if re.fullmatch(r"[A-Z][A-Z0-9]{1,9}", key) else []
    return []


class Connections:
    def __init__(self, tenancy: Tenancy, personal: PersonalConnections) -> None:
        self.tenancy = tenancy
        self.workspaces = tenancy.workspaces
        self.deps = tenancy.deps
        self.own = OwnAccounts(self.deps, personal, self)

    def connect_url(self, link_token: str) -> str:
        return f"{self.deps.config.settings.truto_connect_url}?link_token={link_token}"

    async def connect_link(self, tenant: str, user: str) -> str:
        """A connect page for a new account of `tenant`, opened by `user` (remembered)."""
        token = await self.deps.core.client.create_link_token(tenant_id=tenant)
        await self.deps.core.cache.backend.set(_connector_key(tenant), Entry(user, 0.0), CONNECTOR_SECONDS)
        return self.connect_url(token)

    async def connections(self, tenant: str) -> list[Connection]:
        return await self.workspaces.connections(tenant)

    async def installer(self, tenant: str) -> str | None:
        return await self.workspaces.installations.installer_of_tenant(tenant)

    async def settings(self, tenant: str) -> WorkspaceSettings:
        return await self.workspaces.settings(tenant)

    async def save_settings(self, tenant: str, settings: WorkspaceSettings, by: str | None) -> None:
        await self.workspaces.save_settings(tenant, settings, by)

    async def deps_for(self, tenant: str) -> SlackDeps | None:
        return await self.tenancy.deps_for(tenant)

    async def reconnect_link(self, integrated_account_id: str) -> str:
        return await self.own.reconnect_link(integrated_account_id)

    async def _connector(self, tenant: str, stored: Connection | None) -> str | None:
        if stored is not None and stored.connected_by:
            return stored.connected_by
        entry = await self.deps.core.cache.backend.get(_connector_key(tenant))
        return str(entry.value) if entry is not None and entry.value else None

    async def handle(self, delivery: Delivery) -> str:
        """The verdict (for the answer and the metrics); nothing is done for a tenant that is not
        installed here."""
        if not await self.deps.first_time("account-event", delivery.id, 3600):
            return "duplicate"
        kind = delivery.event.removeprefix(ACCOUNT_EVENT)
        payload: Mapping[str, Any] = delivery.payload
        account_id = text_of(payload.get("id"), 128)
        if not account_id:
            return "ignored: no account"
        tenant = text_of(payload.get("tenant_id"), 64)
        if ":" in tenant or (kind == "deleted" and await self.own.owns(account_id)):
            return await self.own.event(kind, account_id, tenant, payload)
        stored = await self.workspaces.accounts.by_account(account_id)
        if kind == "deleted":
            if stored is None:
                return "ignored"
            await self.workspaces.accounts.remove(account_id)
            await self.workspaces.changed(stored.tenant_id)
            return "removed"
        if not tenant or (stored is not None and stored.tenant_id != tenant):
            return "ignored: not this tenant's"
        client = await self.tenancy.client_for(tenant)
        if client is None:
            return "ignored: not installed"
        integration = mapping_of(payload.get("integration"))
        config = mapping_of(integration.get("config"))
        connection = Connection(
            tenant_id=tenant,
            integrated_account_id=account_id,
            integration=text_of(integration.get("name"), 80),
            label=text_of(config.get("label"), 120),
            connected_by=await self._connector(tenant, stored),
        )
        if kind in ("active", "reactivated"):
            await self.workspaces.accounts.save(connection)
            await self.workspaces.changed(tenant)
            await self._tell(client, connection, None)
            await self._republish(tenant, client, connection.connected_by)
            return "connected"
        if kind in FAILURES:
            error = text_of(payload.get("last_error"), 300) or None
            if stored is not None:
                await self.workspaces.accounts.set_status(account_id, kind, error)
                await self.workspaces.changed(tenant)
            await self._tell(client, connection, FAILURES[kind] + (f": {error}" if error else ""))
            return "told"
        return "ignored"

    # -- the workspace as people's own connections see it (OwnAccounts' Served) ------------

    async def serving(self, tenant: str) -> tuple[SlackDeps, AsyncWebClient] | None:
        client = await self.tenancy.client_for(tenant)
        deps = await self.tenancy.deps_for(tenant, client) if client is not None else None
        return (deps, client) if client is not None and deps is not None else None

    async def shared_account(self, tenant: str, integration: str) -> str | None:
        for connection in await self.workspaces.connections(tenant):
            if connection.integration == integration and ":" not in connection.tenant_id:
                return connection.integrated_account_id
        return None

    async def is_shared_account(self, integrated_account_id: str) -> bool:
        return await self.workspaces.accounts.by_account(integrated_account_id) is not None

    async def changed(self, tenant: str) -> None:
        await self.workspaces.changed(tenant)

    async def _republish(self, tenant: str, client: AsyncWebClient, user: str | None) -> None:
        """The connector's Home tab, now listing the tool."""
        deps = await self.tenancy.deps_for(tenant, client)
        if deps is None or not user:
            return
        try:
            await home.publish_for(deps, client, user)
        except (SlackApiError, TrutoError) as exc:
            log.warning("Home tab of %s not republished: %s", user, type(exc).__name__)

    async def _example(self, connection: Connection) -> str | None:
        """A command that works on the tool just connected: its key prefix, a status and a
        priority from its own lists (read now: the DM is written after the ack)."""
        deps = await self.tenancy.deps_for(connection.tenant_id)
        account = (
            next(
                (
                    a
                    for a in deps.config.accounts.values()
                    if a.integrated_account_id == connection.integrated_account_id
                ),
                None,
            )
            if deps is not None
            else None
        )
        if deps is None or account is None:
            return None
        try:
            statuses = (await deps.core.lookups.get(account, "ticket_status")).names
            priorities = (await deps.core.lookups.get(account, "ticket_priorities")).names
            await deps.core.lookups.get(account, "collections")  # the key prefixes, cached for Home too
            prefixes = sorted(await known_prefixes(deps, account) or ()) or await _prefix_of_a_ticket(
                deps, account
            )
        except (TrutoError, UserInputError):
            return None
        if not prefixes:
            return None
        return tool_examples(prefixes[0], statuses, priorities)[0][0]

    async def _tell(self, client: Any, connection: Connection, problem: str | None) -> None:
        user = connection.connected_by
        if not user:
            log.info("account %s: nobody to tell (no connector known)", connection.integrated_account_id)
            return
        reconnect = None
        if problem is not None:
            try:
                reconnect = await self.reconnect_link(connection.integrated_account_id)
            except TrutoError as exc:
                log.warning("no reconnect link for %s: %s", connection.integrated_account_id, exc)
        example = await self._example(connection) if problem is None else None
        blocks, text = connection_message(connection.tool, problem, reconnect, example)
        try:
            await client.chat_postMessage(channel=user, text=text, blocks=blocks)
        except SlackApiError as exc:
            log.warning("could not tell %s about a connection: %s", user, exc.response.get("error"))
