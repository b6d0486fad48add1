from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect

from bot.domain.tenants import Connection
from bot.store.sql.database import Database, DatabaseError, database_url, describe
from bot.store.sql.team_accounts import TeamAccounts


def test_urls_get_their_async_drivers(tmp_path: Path) -> None:
    assert database_url(None, tmp_path) == f"sqlite+aiosqlite:///{tmp_path.resolve()}/ticketbot.db"
    assert database_url("postgres://u:p@db:5432/tb") == "postgresql+asyncpg://u:p@db:5432/tb"
    assert database_url("postgresql://db/tb") == "postgresql+asyncpg://db/tb"
    assert database_url("sqlite:////var/lib/tb.db") == "sqlite+aiosqlite:////var/lib/tb.db"


def test_an_unsupported_url_is_named_without_its_password() -> None:
    with pytest.raises(DatabaseError) as caught:
        database_url("mysql://root:hunter2@db/tb")
    assert "mysql://" in str(caught.value) and "hunter2" not in str(caught.value)
    with pytest.raises(DatabaseError, match="is not a URL"):
        database_url("db.example:5432")
    assert describe("postgresql+asyncpg://u:hunter2@db/tb") == "postgresql+asyncpg://u:***@db/tb"


async def _tables(database: Database) -> set[str]:
    async with database.engine.connect() as conn:
        return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))


async def _indexes(database: Database, table: str) -> set[str]:
    async with database.engine.connect() as conn:
        found = await conn.run_sync(lambda sync: inspect(sync).get_indexes(table))
    return {str(i["name"]) for i in found}


async def test_migrations_go_up_and_down(database: Database) -> None:
    assert {
        "slack_installations",
        "slack_bots",
        "slack_oauth_states",
        "team_accounts",
        "workspace_settings",
        "personal_connections",
    } <= await _tables(database)
    assert await database.revision() == ("0004", "0004")
    assert await _indexes(database, "slack_bots") >= {"slack_bots_team_idx", "slack_bots_org_idx"}
    await database.downgrade("0003")  # 0004 down: only its indexes go
    assert "slack_bots_team_idx" not in await _indexes(database, "slack_bots")
    assert "slack_bots_idx" in await _indexes(database, "slack_bots")  # slack_sdk's own stays
    await database.downgrade("0002")  # 0003 down: only people's own connections go
    assert "personal_connections" not in await _tables(database) and "team_accounts" in await _tables(
        database
    )
    await database.downgrade("base")
    assert await _tables(database) == {"alembic_version"}
    assert (await database.revision())[0] is None
    await database.upgrade()
    await database.upgrade()  # again: nothing to do
    assert await database.revision() == ("0004", "0004")


async def test_an_upgrade_keeps_what_the_earlier_revision_stored(database: Database) -> None:
    await database.downgrade("0001")
    assert "workspace_settings" not in await _tables(database)
    await TeamAccounts(database).save(Connection("T0ACME", "ia-jira", "jira", "Jira"))
    await database.upgrade()
    assert [c.integrated_account_id for c in await TeamAccounts(database).of_tenant("T0ACME")] == ["ia-jira"]
    assert "workspace_settings" in await _tables(database)


async def test_peoples_own_connections_are_kept_per_workspace_and_person(database: Database) -> None:
    from bot.store.sql.personal_connections import PersonalConnection, PersonalConnections

    store = PersonalConnections(database)
    await store.save(PersonalConnection("T0ACME", "U0ANA", "ia-ana", "ia-jira", "jira"))
    await store.save(PersonalConnection("T0GLOBEX", "U0ANA", "ia-ana-globex", "ia-jira-2", "jira"))
    await store.save(PersonalConnection("T0ACME", "U0ANA", "ia-ana-2", "ia-jira", "jira"))  # replaces hers
    assert [c.integrated_account_id for c in await store.of_person("T0ACME", "U0ANA")] == ["ia-ana-2"]
    await store.set_status("ia-ana-2", "authentication_error")
    assert (await store.by_account("ia-ana-2")).status == "authentication_error"  # type: ignore[union-attr]
    assert await store.forget("T0ACME") == ["ia-ana-2"]
    assert [c.tenant_id for c in await store.of_person("T0GLOBEX", "U0ANA")] == ["T0GLOBEX"]
