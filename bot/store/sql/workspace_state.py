"""What a request or a job needs of a workspace, read in one statement (one round trip, one
connection): its newest bot installation, its connected accounts (oldest first) and its
settings, and whether anyone there has connected an account of their own (so that a job of a
workspace where nobody has asks nothing more). A workspace that is not installed has no
accounts or settings to read."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from slack_sdk.oauth.installation_store.models.bot import Bot
from sqlalchemy import Select, String, bindparam, exists, literal, select, true

from bot.domain.tenants import Connection
from bot.domain.workspace_settings import WorkspaceSettings
from bot.store.sql.installations import SealedInstallationStore
from bot.store.sql.settings_store import settings_from
from bot.store.sql.tables import personal_connections, team_accounts, workspace_settings
from bot.store.sql.team_accounts import connection_from


@dataclass(frozen=True)
class WorkspaceState:
    bot: Bot | None
    connections: list[Connection]
    settings: WorkspaceSettings
    people_connected: bool = False  # anyone has connected an account of their own here


class WorkspaceStates:
    def __init__(self, installations: SealedInstallationStore) -> None:
        self.installations = installations
        engine = installations.database.engine
        # One statement, read alone: on PostgreSQL no BEGIN before it nor ROLLBACK after
        # (autocommit: 1.1 → 0.6 ms a read here); SQLite's driver pays more to switch than to keep.
        self.engine = (
            engine
            if installations.database.is_sqlite
            else engine.execution_options(isolation_level="AUTOCOMMIT")
        )
        self._queries = {org: self.query(org) for org in (False, True)}  # a team's, an org's

    def query(self, org: bool) -> Select[Any]:
        """One row per account (one row without any), each carrying the bot's columns (`b_…`),
        the account's (`a_…`) and the settings (`s_data`); nothing but NULLs of a tenant that
        is not installed beside a lone row. The tenant is the `tenant` parameter; built once
        per branch (building a statement costs more than running this one)."""
        tenant = bindparam("tenant", type_=String)
        bot = self.installations.newest(self.installations.inner.bots, tenant, org=org).subquery("bot")
        one = select(literal(1).label("one")).subquery("one")
        accounts, settings, personal = team_accounts, workspace_settings, personal_connections
        return (
            select(
                *(c.label(f"b_{c.name}") for c in bot.c),
                *(c.label(f"a_{c.name}") for c in accounts.c),
                settings.c.data.label("s_data"),
                exists(select(personal.c.tenant_id).where(personal.c.tenant_id == tenant)).label("p_any"),
            )
            .select_from(
                one.outerjoin(bot, true())
                .outerjoin(accounts, (accounts.c.tenant_id == tenant) & bot.c.id.is_not(None))
                .outerjoin(settings, (settings.c.tenant_id == tenant) & bot.c.id.is_not(None))
            )
            .order_by(accounts.c.id)
        )

    async def read(self, tenant_id: str) -> WorkspaceState:
        return self.state_from(tenant_id, await self.rows(tenant_id))

    async def rows(self, tenant_id: str) -> list[dict[str, Any]]:
        """The statement's rows as stored (tokens sealed): what a shared copy keeps."""
        async with self.engine.connect() as conn:
            statement = self._queries[tenant_id.startswith("E")]
            result = await conn.execute(statement, {"tenant": tenant_id})
            return [dict(row) for row in result.mappings().all()]

    def state_from(self, tenant_id: str, rows: list[dict[str, Any]]) -> WorkspaceState:
        first = rows[0] if rows else None
        if first is None or first["b_id"] is None:
            return WorkspaceState(None, [], WorkspaceSettings())
        bot = self.installations.bot_from(_part(first, "b_"))
        connections = [connection_from(_part(r, "a_")) for r in rows if r["a_id"] is not None]
        settings = settings_from(first["s_data"], tenant_id)
        return WorkspaceState(bot, connections, settings, bool(first["p_any"]))


def _part(row: dict[str, Any], prefix: str) -> dict[str, Any]:
    return {name: row[key] for key, name in _columns(prefix, tuple(row))}


@functools.lru_cache(maxsize=16)
def _columns(prefix: str, keys: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """The row's keys under `prefix`, each with its column's name: worked out once per shape of
    row (the statement's, the shared copy's), not for every row."""
    return tuple((key, key[len(prefix) :]) for key in keys if key.startswith(prefix))
