"""A workspace's state (installation, accounts, settings) in one statement, through an index
that serves it."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import event, text

from bot.domain.tenants import Connection
from bot.domain.workspace_settings import WorkspaceSettings
from bot.store.sql.cipher import TokenCipher, new_key
from bot.store.sql.database import Database
from bot.store.sql.installations import SealedInstallationStore
from bot.store.sql.settings_store import SettingsStore
from bot.store.sql.team_accounts import TeamAccounts
from bot.store.sql.workspace_state import WorkspaceStates
from tests.bot.store.sql.test_installations import BOT_TOKEN, installation


def statements(database: Database) -> list[str]:
    """Every statement sent from now on (a pool's pre-ping is not one)."""
    sent: list[str] = []

    def record(*args: Any) -> None:
        sent.append(str(args[2]))

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    return sent


async def test_one_statement_reads_the_installation_accounts_and_settings(database: Database) -> None:
    store = SealedInstallationStore(database, "1234.5678", TokenCipher(new_key()))
    await store.async_save(installation("T0ACME"))
    await store.async_save(installation("T0GLOBEX"))
    await store.async_save(installation(enterprise="E0GRID", org=True))
    accounts = TeamAccounts(database)
    await accounts.save(Connection("T0ACME", "ia-jira", "jira", "Jira"))
    await accounts.save(Connection("T0ACME", "ia-linear", "linear", "Linear"))
    await accounts.save(Connection("T0GLOBEX", "ia-asana", "asana", "Asana"))
    chosen = WorkspaceSettings(channel_card="none")
    await SettingsStore(database).save("T0ACME", chosen, "U0ADMIN")
    states = WorkspaceStates(store)

    sent = statements(database)
    acme = await states.read("T0ACME")
    assert len(sent) == 1
    assert acme.bot is not None and acme.bot.bot_token == BOT_TOKEN and acme.bot.team_id == "T0ACME"
    assert [c.integrated_account_id for c in acme.connections] == ["ia-jira", "ia-linear"]  # oldest first
    assert acme.settings == chosen

    globex = await states.read("T0GLOBEX")
    assert [c.integration for c in globex.connections] == ["asana"] and globex.settings == WorkspaceSettings()
    grid = await states.read("E0GRID")
    assert grid.bot is not None and grid.bot.is_enterprise_install and grid.connections == []
    nobody = await states.read("T0NOBODY")
    assert (nobody.bot, nobody.connections, nobody.settings) == (None, [], WorkspaceSettings())
    assert len(sent) == 4  # one each


async def test_the_newest_installation_is_found_through_an_index(database: Database) -> None:
    store = SealedInstallationStore(database, "1234.5678", TokenCipher(new_key()))
    for n in range(30):
        await store.async_save(installation(f"T0TEAM{n}"))
    async with database.engine.connect() as conn:
        for tenant, index in (("T0TEAM7", "slack_bots_team_idx"), ("E0GRID", "slack_bots_org_idx")):
            query = store.newest(store.inner.bots, tenant).compile(
                dialect=conn.dialect, compile_kwargs={"literal_binds": True}
            )
            if database.is_sqlite:
                plan = " ".join(str(r[-1]) for r in await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {query}"))
                assert index in plan and "TEMP B-TREE" not in plan, plan
            else:
                await conn.execute(
                    text("SET enable_seqscan = off")
                )  # a table this small: the index or nothing
                plan = " ".join(str(r[0]) for r in await conn.exec_driver_sql(f"EXPLAIN {query}"))
                assert f"Index Scan Backward using {index}" in plan and "Sort" not in plan, plan


async def test_a_connection_used_a_moment_ago_is_not_pinged(database: Database) -> None:
    """A server may go away between two uses; pinged before each use, every request would pay
    a round trip: only a connection idle past the bound is pinged (a file is never)."""
    from bot.store.sql.database import IdlePing

    pings: list[object] = []
    engine = database.engine.sync_engine
    real = engine.dialect.do_ping

    def counted(dbapi_connection: Any) -> bool:
        pings.append(dbapi_connection)
        return bool(real(dbapi_connection))

    engine.dialect.do_ping = counted  # type: ignore[method-assign]
    IdlePing(engine, idle_seconds=0.05).listen()  # a short bound (PostgreSQL's own is 10 s; a file has none)
    for _ in range(3):
        async with database.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    assert pings == []  # opened, then reused at once
    await asyncio.sleep(0.06)
    async with database.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    assert len(pings) == 1  # idle past the bound: pinged once before use
