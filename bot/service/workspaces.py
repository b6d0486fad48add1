"""Distributed mode's workspaces: each one's bot installation (its token rotated when due) and
its connected accounts, read from the database (or the copy every process shares in Redis) and
kept in the process until a change is announced.

A request or a job names its tenant (bot/domain/tenants.py); what it may touch is that tenant's
accounts only. Forgetting a tenant (uninstall) takes effect in this process at once, in every
other when the announcement reaches it (within CACHE_SECONDS where it is not heard).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
import time
from dataclasses import dataclass, field

from cachetools import LRUCache
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator

from bot.domain.accounts import Account, AccountQuery
from bot.domain.tenants import Connection
from bot.domain.workspace_settings import WorkspaceSettings
from bot.ops.config import AppConfig
from bot.store.announcements import Announcements
from bot.store.shared_workspaces import SharedWorkspaces
from bot.store.sql.installations import SealedInstallationStore
from bot.store.sql.settings_store import SettingsStore
from bot.store.sql.team_accounts import TeamAccounts
from bot.store.sql.workspace_state import WorkspaceStates

log = logging.getLogger(__name__)
CACHE_SECONDS = 10.0
TRUSTED_SECONDS = 600.0  # a safety net: an announcement lost without the connection dropping


@dataclass
class KnownWorkspace:
    """What a process knows of a workspace, as one read gave it (the same object until the next)."""

    bot: Bot | None
    connections: list[Connection]
    settings: WorkspaceSettings
    read_at: float  # time.monotonic() when its read began
    # Anyone there has an account of their own connected (announced when one connects, so a job
    # of a workspace where nobody has asks nothing more).
    people_connected: bool = False


def _retrieved(task: asyncio.Task[KnownWorkspace]) -> None:
    """A background read's failure is its waiters' (handed on by its future), not unseen."""
    if not task.cancelled():
        task.exception()


_NO_QUERY = AccountQuery()


@functools.lru_cache(maxsize=256)
def _tool_name(integration: str) -> str:
    """An account's name for its tool (`jira`, `azure-devops`): a few dozen integrations."""
    return re.sub(r"[^a-z0-9]+", "-", integration.lower()).strip("-") or "tool"


def account_names(
    connections: list[Connection], settings: WorkspaceSettings | None = None
) -> dict[str, Account]:
    """Active connections as accounts, named by their tool (jira, jira-2, …), oldest first;
    built once with what `settings` set on them."""
    fields = settings.account_fields() if settings is not None else {}
    accounts: dict[str, Account] = {}
    for connection in connections:
        if not connection.active:
            continue
        base = _tool_name(connection.integration)
        name, n = base, 1
        while name in accounts:
            n += 1
            name = f"{base}-{n}"
        accounts[name] = Account(
            name=name,
            integrated_account_id=connection.integrated_account_id,
            tool=connection.label or None,
            query=_NO_QUERY,  # one frozen instance for all (a new one is validated per account)
            **fields,
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
    # Workspaces kept in the process (the least recently used go first), and how long one read
    # after this process began hearing announcements is trusted without one.
    kept_size: int = 3_500
    trusted_seconds: float = TRUSTED_SECONDS
    # Every process's copies in Redis: a workspace this process does not keep is read there first.
    shared: SharedWorkspaces | None = None
    _kept: LRUCache[str, KnownWorkspace] = field(init=False)
    _reading: dict[str, asyncio.Future[KnownWorkspace]] = field(default_factory=dict)  # reads in flight
    states: WorkspaceStates = field(init=False)

    def __post_init__(self) -> None:
        self._kept = LRUCache(maxsize=self.kept_size)
        self.states = WorkspaceStates(self.installations)

    def _fresh_until(self, kept: KnownWorkspace) -> float:
        """Read while every announcement was heard: until one says it changed (or the safety
        expiry); else the short expiry (a change may have been announced unheard)."""
        since = self.announcements.hearing_since
        heard = since is not None and kept.read_at >= since
        return kept.read_at + (self.trusted_seconds if heard else self.cache_seconds)

    async def _load(self, tenant: str) -> KnownWorkspace:
        """What is known of the tenant. Past its time, the copy is still served while one read
        (one per tenant, however many requests ask) brings the next; a tenant forgotten (an
        announced change) waits for that read. The first to ask for a tenant not kept reads it
        itself, inline (no task: no extra turns of the event loop on a cold request's ack);
        whoever asks meanwhile waits for that read's answer."""
        kept = self._kept.get(tenant)
        now = time.monotonic()
        if kept is not None and self._fresh_until(kept) > now:
            return kept
        reading = self._reading.get(tenant)
        loop = asyncio.get_running_loop()
        if kept is not None and self._fresh_until(kept) + self.cache_seconds > now:
            if reading is None:  # served as it is while a read behind it brings the next
                future = self._reading[tenant] = loop.create_future()
                task = loop.create_task(self._read_into(tenant, future))
                task.add_done_callback(_retrieved)
            return kept
        if reading is not None:
            return await self._wait(tenant, reading)
        future = self._reading[tenant] = loop.create_future()
        return await self._read_into(tenant, future)

    async def _wait(self, tenant: str, reading: asyncio.Future[KnownWorkspace]) -> KnownWorkspace:
        """Another request's read of the tenant; if that request went away mid-read (its read
        cancelled with it), this one reads instead."""
        try:
            return await asyncio.shield(reading)
        except asyncio.CancelledError:
            task = asyncio.current_task()
            if reading.cancelled() and task is not None and not task.cancelling():
                return await self._load(tenant)
            raise

    async def _read_into(self, tenant: str, future: asyncio.Future[KnownWorkspace]) -> KnownWorkspace:
        """`_read`, its outcome handed to whoever waits on `future`."""
        try:
            kept = await self._read(tenant, future)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            if not future.done():
                future.set_exception(exc)
                future.exception()  # retrieved here: nobody else may be waiting for it
            raise
        if not future.done():
            future.set_result(kept)
        return kept

    async def _read(self, tenant: str, marker: asyncio.Future[KnownWorkspace]) -> KnownWorkspace:
        """One query for the installation, the accounts and the settings (or their shared copy,
        one Redis round trip). Kept only when the tenant was not forgotten meanwhile (forgetting
        drops the read in flight: `marker` is no longer the tenant's)."""
        started = time.monotonic()
        try:
            if self.shared is None:
                state = await self.states.read(tenant)
            else:
                state = self.states.state_from(tenant, await self.shared.rows(tenant, self.states.rows))
            bot = await self._rotated(tenant, state.bot)
            kept = KnownWorkspace(bot, state.connections, state.settings, started, state.people_connected)
            if self._reading.get(tenant) is marker:
                self._kept[tenant] = kept
            return kept
        finally:
            if self._reading.get(tenant) is marker:
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

    async def snapshot(self, tenant: str) -> KnownWorkspace:
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
        return self.config_of(await self._load(tenant))

    def config_of(self, known: KnownWorkspace) -> AppConfig:
        """The deployment's configuration with the workspace's accounts, routing and settings."""
        accounts = account_names(known.connections, known.settings)
        channels, default = known.settings.routing(accounts)
        return self.config.for_workspace(accounts, channels, default)

    async def save_settings(self, tenant: str, settings: WorkspaceSettings, by: str | None) -> None:
        """Stored, and effective here at once (on other replicas within `cache_seconds`)."""
        await self.settings_store.save(tenant, settings, by)
        await self.changed(tenant)

    def forget(self, tenant: str) -> None:
        """Read again on next use, in this process (what an announcement does); a read already
        under way does not keep what it found."""
        self._kept.pop(tenant, None)
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
        self._kept[tenant] = KnownWorkspace(None, [], WorkspaceSettings(), time.monotonic())
        await self.announcements.publish(tenant)
        return gone
