"""Distributed mode's workspaces: each one's bot installation (its token rotated when due) and
its connected accounts, read from the database and kept a few seconds in the process.

A request or a job names its tenant (bot/domain/tenants.py); what it may touch is that tenant's
accounts only. Forgetting a tenant (uninstall) takes effect in this process at once and in
every other within CACHE_SECONDS.
"""

from __future__ import annotations

import asyncio
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
from bot.store.announcements import Announcements
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
    announcements: Announcements = field(default_factory=lambda: Announcements(None))
    rotator: AsyncTokenRotator | None = None
    rotate_minutes: int = 120
    cache_seconds: float = CACHE_SECONDS
    _kept: dict[str, _Kept] = field(default_factory=dict)
    _reading: dict[str, asyncio.Task[_Kept]] = field(default_factory=dict)
    _generation: dict[str, int] = field(default_factory=dict)

    async def _load(self, tenant: str) -> _Kept:
        """What is known of the tenant. Past its time, the copy is still served while one read
        (one per tenant, however many requests ask) brings the next; a tenant forgotten (an
        announced change) waits for that read."""
        kept = self._kept.get(tenant)
        now = time.monotonic()
        if kept is not None and kept.until > now:
            return kept
        reading = self._reading.get(tenant)
        if reading is None:
            reading = self._reading[tenant] = asyncio.get_running_loop().create_task(self._read(tenant))
        if kept is not None and kept.until + self.cache_seconds > now:
            return kept
        return await asyncio.shield(reading)

    async def _read(self, tenant: str) -> _Kept:
        generation = self._generation.get(tenant, 0)
        try:
            bot = await self._rotated(tenant, await self.installations.bot_of_tenant(tenant))
            connections = await self.accounts.of_tenant(tenant) if bot is not None else []
            settings = await self.settings_store.get(tenant) if bot is not None else WorkspaceSettings()
            kept = _Kept(bot, connections, settings, time.monotonic() + self.cache_seconds)
            if self._generation.get(tenant, 0) == generation:  # not forgotten meanwhile
                self._kept[tenant] = kept
            return kept
        finally:
            if self._reading.get(tenant) is asyncio.current_task():
                del self._reading[tenant]

    async def _rotated(self, tenant: str, bot: Bot | None) -> Bot | None:
        """The bot with a fresh token when its own expires soon (token rotation)."""
        if bot is None or self.rotator is None:
            return bot
        try:
            rotated = await self.rotator.perform_bot_token_rotation(
                bot=bot, minutes_before_expiration=self.rotate_minutes
            )
        except Exception as exc:  # another process used the refresh token first: read its result
            log.info("bot token of %s not rotated here (%s); read again", tenant, type(exc).__name__)
            return await self.installations.bot_of_tenant(tenant)
        if rotated is None:
            return bot
        await self.installations.async_save_bot(rotated)
        log.info("bot token of %s rotated", tenant)
        await self.announcements.publish(tenant)  # the others read the new token
        return rotated

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
        await self.changed(tenant)

    def forget(self, tenant: str) -> None:
        """Read again on next use, in this process (what an announcement does); a read already
        under way does not keep what it found."""
        self._kept.pop(tenant, None)
        self._generation[tenant] = self._generation.get(tenant, 0) + 1
        self._reading.pop(tenant, None)

    async def changed(self, tenant: str) -> None:
        """Read again on next use, in every process (a connection changed, settings saved)."""
        self.forget(tenant)
        await self.announcements.publish(tenant)

    async def listen(self, ready: asyncio.Event | None = None) -> None:
        """Hear other processes' changes (runs beside the worker)."""
        await self.announcements.listen(self.forget, ready)

    async def uninstall(self, tenant: str, *, enterprise_id: str | None, team_id: str | None) -> list[str]:
        """The installation and every connected account of the tenant deleted; the integrated
        account ids it had (their cached data is purged by the caller)."""
        await self.installations.async_delete_all(enterprise_id=enterprise_id, team_id=team_id)
        gone = await self.accounts.remove_tenant(tenant)
        await self.settings_store.remove(tenant)
        self.forget(tenant)
        self._kept[tenant] = _Kept(None, [], WorkspaceSettings(), time.monotonic() + self.cache_seconds)
        await self.announcements.publish(tenant)
        return gone
