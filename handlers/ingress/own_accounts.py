"""People's own connections (`/ticket connect`), in either mode: the connect page for a person's
own account, and the signed `integrated_account:*` events of such accounts.

A person's link token names the workspace and the person (`<tenant>:<user>`), so its events can
only ever attach to them, on the workspace's account of the same tool. A tenant that is not the
one this deployment serves, an account that is a workspace's own, or a tool the workspace has not
connected is ignored.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import Any, Protocol

from slack_sdk.errors import SlackApiError

from blocks.messages import connection_message
from bot.store.sql.personal_connections import PersonalConnection, PersonalConnections
from bot.truto.errors import TrutoError
from bot.truto.webhook_events import Delivery
from handlers.kit.deps import SlackDeps

log = logging.getLogger(__name__)

ACCOUNT_EVENT = "integrated_account:"
FAILURES = {
    "authentication_error": "can no longer sign in (its credentials expired or were revoked)",
    "validation_error": "did not pass the connection check (missing permissions?)",
    "post_install_error": "could not be set up after connecting",
}
SLACK_USER = re.compile(r"[UW][A-Z0-9]{2,}")


def text_of(value: Any, limit: int = 300) -> str:
    return str(value)[:limit] if isinstance(value, str | int) and not isinstance(value, bool) else ""


def mapping_of(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


class Served(Protocol):
    """The workspaces this deployment serves, as people's own connections need them."""

    async def serving(self, tenant: str) -> tuple[SlackDeps, Any] | None:
        """The workspace's deps and Slack client, or None when it is not served here."""

    async def shared_account(self, tenant: str, integration: str) -> str | None:
        """The workspace's own account of that tool (the unified API's integration name)."""

    async def is_shared_account(self, integrated_account_id: str) -> bool:
        """A workspace's own account (never anybody's personal one)."""

    async def changed(self, tenant: str) -> None:
        """Someone connected an account of their own there: every process reads it again."""


class OwnAccounts:
    def __init__(self, deps: SlackDeps, store: PersonalConnections, served: Served) -> None:
        self.deps = deps
        self.store = store
        self.served = served

    def connect_url(self, link_token: str) -> str:
        return f"{self.deps.config.settings.truto_connect_url}?link_token={link_token}"

    async def personal_link(self, tenant: str, user: str) -> str:
        token = await self.deps.core.client.create_link_token(tenant_id=f"{tenant}:{user}")
        return self.connect_url(token)

    async def reconnect_link(self, integrated_account_id: str) -> str:
        token = await self.deps.core.client.create_link_token(integrated_account_id=integrated_account_id)
        return self.connect_url(token)

    async def owns(self, integrated_account_id: str) -> bool:
        return await self.store.by_account(integrated_account_id) is not None

    async def handle(self, delivery: Delivery) -> str:
        """An account event when only people's accounts are connected from Slack (single
        workspace mode: the workspace's own accounts are in its configuration)."""
        if not await self.deps.first_time("account-event", delivery.id, 3600):
            return "duplicate"
        payload = delivery.payload
        account_id = text_of(payload.get("id"), 128)
        tenant = text_of(payload.get("tenant_id"), 64)
        kind = delivery.event.removeprefix(ACCOUNT_EVENT)
        if not account_id:
            return "ignored: no account"
        if ":" not in tenant and not (kind == "deleted" and await self.owns(account_id)):
            return "ignored: not a person's own account"
        return await self.event(kind, account_id, tenant, payload)

    async def event(self, kind: str, account_id: str, tenant: str, payload: Mapping[str, Any]) -> str:
        stored = await self.store.by_account(account_id)
        if kind == "deleted":
            if stored is None:
                return "ignored"
            await self.store.remove(account_id)
            return "removed"
        workspace, _, user = tenant.partition(":")
        if not SLACK_USER.fullmatch(user) or (stored is not None and stored.tenant_id != workspace):
            return "ignored: not this tenant's"
        if await self.served.is_shared_account(account_id):
            return "ignored: a workspace's own account is nobody's personal one"
        found = await self.served.serving(workspace)
        if found is None:
            return "ignored: not installed"
        deps, client = found
        integration = text_of(mapping_of(payload.get("integration")).get("name"), 80)
        shared = await self.served.shared_account(workspace, integration) if integration else None
        if shared is None:
            return "ignored: no account of that tool in the workspace"
        tool = next(
            (a.display_tool for a in deps.config.accounts.values() if a.integrated_account_id == shared),
            integration,
        )
        if kind in ("active", "reactivated"):
            await self.store.save(PersonalConnection(workspace, user, account_id, shared, integration))
            await self.served.changed(workspace)
            said = f"Your {tool} account is connected; your updates now show as you in {tool}."
            await _dm(client, user, said)
            return "connected"
        if kind in FAILURES:
            await self.store.set_status(account_id, kind)
            try:
                reconnect: str | None = await self.reconnect_link(account_id)
            except TrutoError as exc:
                log.warning("no reconnect link for a personal account: %s", type(exc).__name__)
                reconnect = None
            blocks, text = connection_message(f"Your {tool} account", FAILURES[kind], reconnect)
            await _dm(client, user, text, blocks)
            return "told"
        return "ignored"


class OneWorkspace:
    """Single-workspace mode: the installation's team (auth.test), its configured accounts."""

    def __init__(self, deps: SlackDeps, client: Any) -> None:
        self.deps = deps
        self.client = client

    async def serving(self, tenant: str) -> tuple[SlackDeps, Any] | None:
        ours = await self.deps.workspace_id()
        return (self.deps, self.client) if ours is not None and tenant == ours else None

    async def shared_account(self, tenant: str, integration: str) -> str | None:
        discovery = self.deps.service.discovery
        if discovery is None:
            return None
        for account in self.deps.config.accounts.values():
            try:
                abilities = await discovery.abilities(account)
            except TrutoError:
                continue
            if abilities.integration == integration:
                return account.integrated_account_id
        return None

    async def changed(self, tenant: str) -> None:
        """Nothing kept to read again: one workspace's deps ask the store every time."""

    async def is_shared_account(self, integrated_account_id: str) -> bool:
        return any(
            a.integrated_account_id == integrated_account_id for a in self.deps.config.accounts.values()
        )


async def _dm(client: Any, user: str, text: str, blocks: list[Any] | None = None) -> None:
    try:
        await client.chat_postMessage(channel=user, text=text, **({"blocks": blocks} if blocks else {}))
    except SlackApiError as exc:
        log.warning("could not tell %s about their connection: %s", user, exc.response.get("error"))
