"""What every listener needs, carried in the Bolt context as `deps`."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from bot.domain.accounts import Account
from bot.domain.refs import TicketRef
from bot.domain.tenants import Connection
from bot.domain.workspace_settings import WorkspaceSettings
from bot.ops.config import AppConfig
from bot.runtime import Core
from bot.service.tickets import TicketService
from bot.slack.installation_team import InstallationTeam
from bot.slack.signing import Signer
from bot.store import keys
from bot.store.batches import BatchStore
from bot.store.card_registry import CardRegistry, OwnWrites, RefreshMarks
from bot.store.kept_lists import KeptLists
from bot.store.queue import JobQueue
from bot.store.quota import UserQuota
from bot.store.sql.personal_connections import PersonalConnections
from handlers.kit.pacing import ChannelPacer
from handlers.kit.payloads import private_metadata
from handlers.kit.signed_values import PreviewToken, RetryToken, TicketButton, UndoToken, ViewMeta
from handlers.kit.tokens import OneTimeStore


class Onboarding(Protocol):
    """Distributed mode: connecting a workspace's tools (handlers/connections.py)."""

    async def connect_link(self, tenant: str, user: str) -> str: ...

    async def connections(self, tenant: str) -> list[Connection]: ...

    async def installer(self, tenant: str) -> str | None: ...

    async def settings(self, tenant: str) -> WorkspaceSettings: ...

    async def save_settings(self, tenant: str, settings: WorkspaceSettings, by: str | None) -> None: ...

    async def deps_for(self, tenant: str) -> SlackDeps | None:
        """The workspace's dependencies as they are now (after a change of its settings)."""

    async def reconnect_link(self, integrated_account_id: str) -> str:
        """The connect page again for an account that can no longer sign in (its context kept)."""


class OwnAccountLinks(Protocol):
    """People's own connections (handlers/ingress/own_accounts.py), in either mode."""

    async def personal_link(self, tenant: str, user: str) -> str:
        """The connect page for `user`'s own account of the workspace's tool."""

    async def reconnect_link(self, integrated_account_id: str) -> str:
        """The connect page again for a person's account that can no longer sign in."""


@dataclass
class SlackDeps:
    config: AppConfig
    core: Core
    signer: Signer
    jobs: JobQueue
    quota: UserQuota | None = None
    unfurl_ttl: float = 60.0
    tenant: str | None = None  # distributed mode: the workspace (or Grid org) these deps serve
    onboarding: Onboarding | None = None  # distributed mode only
    personal: PersonalConnections | None = None  # people's own connections, where offered
    own_accounts: OwnAccountLinks | None = None  # their connect pages, where offered
    installation: InstallationTeam | None = None  # single-workspace mode: whose token it is
    people_connected: bool = True  # False: nobody here has an account of their own (not asked)
    retry_ttl: float = 24 * 3600.0
    # Per process, shared by every workspace's deps (dataclasses.replace keeps them):
    pacer: ChannelPacer | None = None  # subscription lines at Slack's pace (set from the settings)
    background: set[asyncio.Task[None]] = field(default_factory=set)  # notes in flight, held

    def __post_init__(self) -> None:
        if self.pacer is None:
            settings = self.config.settings
            self.pacer = ChannelPacer(settings.subscription_post_seconds, settings.subscription_backlog)

    def __deepcopy__(self, memo: dict[int, Any]) -> SlackDeps:
        # Bolt deep-copies the context for lazy listeners; the dependencies are shared.
        return self

    async def workspace_id(self) -> str | None:
        """The workspace (or Grid org) these deps serve: the tenant in distributed mode, the
        installation's team in single-workspace mode (None while Slack does not say)."""
        if self.tenant is not None:
            return self.tenant
        return await self.installation.tenant() if self.installation is not None else None

    @property
    def service(self) -> TicketService:
        return self.core.service

    @property
    def retries(self) -> OneTimeStore:
        return OneTimeStore(self.core.cache, self.signer, RetryToken, self.tenant or "-")

    @property
    def undos(self) -> OneTimeStore:
        return OneTimeStore(self.core.cache, self.signer, UndoToken, self.tenant or "-")

    @property
    def previews(self) -> OneTimeStore:
        return OneTimeStore(self.core.cache, self.signer, PreviewToken, self.tenant or "-")

    @property
    def cards(self) -> CardRegistry:
        settings = self.config.settings
        return CardRegistry(
            self.core.cache.backend, ttl=settings.card_registry_days * 86400, cap=settings.card_registry_cap
        )

    async def begin_bulk_plan(self, team: str | None, user: str | None) -> bool:
        """One bulk plan in flight per user (its 50 reads are work): False when one is."""
        return (
            await self.core.cache.backend.try_lock(_bulk_plan_key(team, user), BULK_PLAN_SECONDS) is not None
        )

    async def end_bulk_plan(self, team: str | None, user: str | None) -> None:
        await self.core.cache.backend.delete(_bulk_plan_key(team, user))

    async def first_time(self, name: str, ident: str, ttl: float) -> bool:
        """True the first time `ident` is seen under `name` within `ttl` seconds, across processes."""
        return await self.core.cache.backend.try_lock(keys.key(name, ident), ttl) is not None

    @property
    def refresh_marks(self) -> RefreshMarks:
        return RefreshMarks(self.core.cache.backend)

    @property
    def batches(self) -> BatchStore:
        return BatchStore(self.core.cache.backend)

    @property
    def own_writes(self) -> OwnWrites:
        return OwnWrites(self.core.cache.backend)

    @property
    def kept_lists(self) -> KeptLists:
        """`/ticket list` answers kept for their page turns."""
        return KeptLists(self.core.cache.backend, self.tenant or "workspace")

    def ticket_value(self, account: Account, ticket_id: str) -> str:
        """A signed button value naming the account and the ticket."""
        return TicketButton(account=account.name, ticket=ticket_id).sign(self.signer)

    def read_ticket_value(self, value: str | None) -> tuple[Account, TicketRef] | None:
        button = TicketButton.verify(self.signer, value)
        account = self.config.account(button.account) if button is not None else None
        if button is None or account is None:
            return None
        return account, TicketRef(button.ticket)

    def view_meta(self, body: dict[str, Any]) -> ViewMeta | None:
        """The signed private_metadata of the modal a payload comes from."""
        return ViewMeta.verify(self.signer, private_metadata(body))


BULK_PLAN_SECONDS = 180.0  # a plan whose worker died frees its user after this


def _bulk_plan_key(team: str | None, user: str | None) -> str:
    return keys.key("bulk-plan", team or "-", user or "-")


def deps_of(context: Mapping[str, Any]) -> SlackDeps:
    deps = context["deps"]
    assert isinstance(deps, SlackDeps)
    return deps


def idempotency_key(*parts: Any) -> str:
    """A key derived from the Slack request, so a retry or a double click makes one change."""
    return hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()[:40]
