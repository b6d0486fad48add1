"""Distributed mode's workspaces: each one's bot installation (its token rotated when due) and
its connected accounts, read from the database and kept a few seconds in the process.

A request or a job names its tenant (bot/domain/tenants.py); what it may touch is that tenant's
accounts only. Forgetting a tenant (uninstall) takes effect in this process at once and in
every other within CACHE_SECONDS.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass, field

from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator

from bot.domain.accounts import Account
from bot.domain.tenants import Connection
from bot.domain.workspace_settings import WorkspaceSettings
from bot.ops.config import AppConfig
from bot.store.sql.installations import SealedInstallationStore
from bot.store.sql.settings_store import SettingsStore
from bot.store.sql.team_accounts import TeamAccounts

log = logging.getLogger(__name__)
CACHE_SECONDS = 10.0


@dataclass
class _Kept:
    bot: Bot | None
    connections: list[Connection]
    settings: WorkspaceSettings
    until: float


def account_names(connections: list[Connection]) -> dict[str, Account]:
    """Active connections as accounts, named by their tool (jira, jira-2, …), oldest first."""
    accounts: dict[str, Account] = {}
    for connection in connections:
        if not connection.active:
            continue
        base = re.sub(r"[^a-z0-9]+", "-", connection.integration.lower()).strip("-") or "tool"
        name, n = base, 1
        while name in accounts:
            n += 1
            name = f"{base}-{n}"
        accounts[name] = Account(
            name=name, integrated_account_id=connection.integrated_account_id, tool=connection.label or None
        )
    return accounts


@dataclass
class Workspaces:
    config: AppConfig
    installations: SealedInstallationStore
    accounts: TeamAccounts
    settings_store: SettingsStore
    rotator: AsyncTokenRotator | None = None
    rotate_minutes: int = 120
    cache_seconds: float = CACHE_SECONDS
    _kept: dict[str, _Kept] = field(default_factory=dict)

    async def _load(self, tenant: str) -> _Kept:
        kept = self._kept.get(tenant)
        if kept is not None and kept.until > time.monotonic():
            return kept
        bot = await self.installations.bot_of_tenant(tenant)
        if bot is not None and self.rotator is not None:
            rotated = await self.rotator.perform_bot_token_rotation(
                bot=bot, minutes_before_expiration=self.rotate_minutes
            )
            if rotated is not None:
                await self.installations.async_save_bot(rotated)
                log.info("bot token of %s rotated", tenant)
                bot = rotated
        connections = await self.accounts.of_tenant(tenant) if bot is not None else []
        settings = await self.settings_store.get(tenant) if bot is not None else WorkspaceSettings()
        kept = _Kept(bot, connections, settings, time.monotonic() + self.cache_seconds)
        self._kept[tenant] = kept
        return kept

    async def snapshot(self, tenant: str) -> object:
        """What is known of the tenant now: the same object until it is read again (anything
        built from it may be kept as long as this stays the same)."""
        return await self._load(tenant)

    async def bot(self, tenant: str) -> Bot | None:
        """The tenant's bot installation, or None: not installed (or uninstalled)."""
        return (await self._load(tenant)).bot

    async def connections(self, tenant: str) -> list[Connection]:
        return (await self._load(tenant)).connections

    async def settings(self, tenant: str) -> WorkspaceSettings:
        return (await self._load(tenant)).settings

    async def config_for(self, tenant: str) -> AppConfig:
        kept = await self._load(tenant)
        accounts, channels, default = kept.settings.apply(account_names(kept.connections))
        return self.config.for_workspace(accounts, channels, default)

    async def save_settings(self, tenant: str, settings: WorkspaceSettings, by: str | None) -> None:
        """Stored, and effective here at once (on other replicas within `cache_seconds`)."""
        await self.settings_store.save(tenant, settings, by)
        self.forget(tenant)

    def forget(self, tenant: str) -> None:
        """Read again on next use (a connection changed, a token rotated, an uninstall)."""
        self._kept.pop(tenant, None)

    async def uninstall(self, tenant: str, *, enterprise_id: str | None, team_id: str | None) -> list[str]:
        """The installation and every connected account of the tenant deleted; the integrated
        account ids it had (their cached data is purged by the caller)."""
        await self.installations.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)
        gone = await self.accounts.remove_tenant(tenant)
        await self.settings_store.remove(tenant)
        self._kept[tenant] = _Kept(None, [], WorkspaceSettings(), time.monotonic() + self.cache_seconds)
        return gone
