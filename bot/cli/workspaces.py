"""`ticketbot workspaces`: the installed workspaces of distributed mode, for support.

- `workspaces list [--limit N]`: the newest installations first: team, installed when, the tools
  connected, the identity policy, last active.
- `workspaces show <team>`: one workspace: its installation, its tools and their state, its
  settings, how many people connected an account of their own, last active.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from slack_sdk.oauth.installation_store.sqlalchemy import SQLAlchemyInstallationStore
from sqlalchemy import MetaData, func, select

from bot.domain.tenants import tenant_of
from bot.ops.config import AppConfig, ConfigError
from bot.store.activity import WorkspaceActivity
from bot.store.redis_client import connect
from bot.store.sql.database import Database, DatabaseError, database_url
from bot.store.sql.settings_store import settings_from
from bot.store.sql.tables import BOTS, personal_connections, team_accounts, workspace_settings
from bot.store.sql.workspace_state import WorkspaceStates

Out = Callable[[str], None]


def add_parser(sub: Any) -> None:
    workspaces = sub.add_parser("workspaces", help="the installed workspaces (distributed mode), for support")
    workspaces_sub = workspaces.add_subparsers(dest="workspaces_command", required=True)
    listed = workspaces_sub.add_parser("list", help="the newest installations first")
    listed.add_argument("--limit", type=int, default=50, help="how many (default 50)")
    shown = workspaces_sub.add_parser("show", help="one workspace: installation, tools, settings")
    shown.add_argument("team", help="its team id (T…), or its Grid org's id (E…) for an org-wide install")


def _when(value: Any) -> str:
    """A stored time (slack_sdk keeps naive UTC datetimes; activity is epoch seconds)."""
    if value is None:
        return "never"
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(value, UTC)
    if isinstance(value, datetime):
        return value.replace(tzinfo=value.tzinfo or UTC).strftime("%Y-%m-%d %H:%M UTC")
    return str(value)


async def run(config: AppConfig, args: argparse.Namespace, out: Out = print) -> int:
    settings = config.settings
    if not settings.distributed or not settings.slack_client_id:
        raise ConfigError("workspaces: only distributed mode (SLACK_CLIENT_ID) installs into workspaces")
    try:
        database = Database(database_url(settings.database_url, settings.ticketbot_data_dir))
    except DatabaseError as exc:
        raise ConfigError(str(exc)) from exc
    redis = (
        connect(
            settings.redis_url,
            cluster=settings.redis_cluster,
            sentinel=settings.redis_sentinel,
            sentinel_master=settings.redis_sentinel_master,
        )
        if settings.redis_url
        else None
    )
    activity = WorkspaceActivity(redis)
    try:
        if args.workspaces_command == "list":
            await _list(database, settings.slack_client_id, activity, args.limit, out)
            return 0
        return await _show(database, config, activity, args.team, out)
    finally:
        await database.aclose()
        if redis is not None:
            await redis.aclose()


async def _list(
    database: Database, client_id: str, activity: WorkspaceActivity, limit: int, out: Out
) -> None:
    c = SQLAlchemyInstallationStore.build_bots_table(MetaData(), BOTS).c
    async with database.engine.connect() as conn:
        newest = (
            select(c.team_id, c.enterprise_id, c.is_enterprise_install, func.max(c.installed_at).label("at"))
            .where(c.client_id == client_id)
            .group_by(c.team_id, c.enterprise_id, c.is_enterprise_install)
            .order_by(func.max(c.installed_at).desc())
            .limit(limit)
        )
        rows = (await conn.execute(newest)).mappings().all()
        total = (await conn.execute(select(func.count()).select_from(newest.limit(None).subquery()))).scalar()
        tenants = [
            tenant_of(r["team_id"], r["enterprise_id"], bool(r["is_enterprise_install"])) for r in rows
        ]
        tools: dict[str, list[str]] = {}
        for row in (
            await conn.execute(select(team_accounts).where(team_accounts.c.tenant_id.in_(tenants)))
        ).mappings():
            state = "" if row["status"] == "active" else f" ({row['status'].replace('_', ' ')})"
            tools.setdefault(row["tenant_id"], []).append(f"{row['label'] or row['integration']}{state}")
        identity = {
            r["tenant_id"]: settings_from(r["data"], r["tenant_id"]).identity
            for r in (
                await conn.execute(
                    select(workspace_settings).where(workspace_settings.c.tenant_id.in_(tenants))
                )
            ).mappings()
        }
    out(f"{total} workspaces installed; the {len(rows)} newest:")
    for tenant, row in zip(tenants, rows, strict=True):
        last = await activity.last(tenant)
        out(
            f"{tenant}  installed {_when(row['at'])}  tools: {', '.join(tools.get(tenant, [])) or 'none'}  "
            f"identity: {identity.get(tenant, 'personal-preferred')}  last active: {_when(last)}"
        )


async def _show(
    database: Database, config: AppConfig, activity: WorkspaceActivity, tenant: str, out: Out
) -> int:
    from bot.store.sql.cipher import TokenCipher
    from bot.store.sql.installations import SealedInstallationStore

    key = config.settings.ticketbot_encryption_key
    assert config.settings.slack_client_id is not None and key is not None
    store = SealedInstallationStore(
        database, config.settings.slack_client_id, TokenCipher(key.get_secret_value())
    )
    state = await WorkspaceStates(store).read(tenant)
    if state.bot is None:
        out(f"{tenant}: not installed (or uninstalled)")
        return 1
    async with database.engine.connect() as conn:
        people = (
            await conn.execute(
                select(func.count())
                .select_from(personal_connections)
                .where(personal_connections.c.tenant_id == tenant)
            )
        ).scalar()
    bot = state.bot
    out(f"{tenant}: installed {_when(bot.installed_at)}  (bot {bot.bot_user_id}, scopes {bot.bot_scopes})")
    out(f"  installed by: {await store.installer_of_tenant(tenant) or 'unknown'}")
    out(f"  last active: {_when(await activity.last(tenant))}")
    for connection in state.connections:
        error = f": {connection.last_error}" if connection.last_error else ""
        out(f"  tool: {connection.tool} ({connection.integrated_account_id}) {connection.state}{error}")
    if not state.connections:
        out("  tool: none connected (an admin connects one from the Home tab)")
    chosen = state.settings
    out(f"  identity: {chosen.identity}; people with their own account: {people}")
    default = chosen.default_account or "the first connected"
    out(f"  channels routed: {len(chosen.channels)}; default tool: {default}")
    return 0
