"""Each workspace's connected accounts (the `team_accounts` table)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.domain.tenants import Connection
from bot.store.sql.database import Database
from bot.store.sql.tables import team_accounts as table


def connection_from(row: Any) -> Connection:
    return Connection(
        tenant_id=row["tenant_id"],
        integrated_account_id=row["integrated_account_id"],
        integration=row["integration"],
        label=row["label"],
        status=row["status"],
        last_error=row["last_error"],
        connected_by=row["connected_by"],
        created_at=row["created_at"],
    )


class TeamAccounts:
    def __init__(self, database: Database) -> None:
        self.engine = database.engine

    async def of_tenant(self, tenant_id: str) -> list[Connection]:
        """Oldest first: the first connected is the workspace's default."""
        query = select(table).where(table.c.tenant_id == tenant_id).order_by(table.c.id)
        async with self.engine.connect() as conn:
            return [connection_from(r) for r in (await conn.execute(query)).mappings()]

    async def by_account(self, integrated_account_id: str) -> Connection | None:
        query = select(table).where(table.c.integrated_account_id == integrated_account_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        return connection_from(row) if row is not None else None

    async def save(self, connection: Connection) -> bool:
        """Insert or update (by integrated account id); True when it was new. An account already
        stored for another tenant is left as it is (False): the event is not to be trusted."""
        values = {
            "integration": connection.integration,
            "label": connection.label,
            "status": connection.status,
            "last_error": connection.last_error,
            "updated_at": datetime.now(UTC),
        }
        if connection.connected_by:
            values["connected_by"] = connection.connected_by
        async with self.engine.begin() as conn:
            changed = await conn.execute(
                update(table)
                .where(table.c.integrated_account_id == connection.integrated_account_id)
                .where(table.c.tenant_id == connection.tenant_id)
                .values(**values)
            )
            if changed.rowcount:
                return False
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    insert(table).values(
                        tenant_id=connection.tenant_id,
                        integrated_account_id=connection.integrated_account_id,
                        **values,
                    )
                )
        except IntegrityError:
            return False  # stored meanwhile, or another tenant's
        return True

    async def set_status(self, integrated_account_id: str, status: str, last_error: str | None) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(table)
                .where(table.c.integrated_account_id == integrated_account_id)
                .values(status=status, last_error=last_error, updated_at=datetime.now(UTC))
            )

    async def remove(self, integrated_account_id: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(table).where(table.c.integrated_account_id == integrated_account_id))

    async def remove_tenant(self, tenant_id: str) -> list[str]:
        """Every account of a tenant forgotten (uninstall); their integrated account ids."""
        async with self.engine.begin() as conn:
            ids = (
                await conn.execute(
                    select(table.c.integrated_account_id).where(table.c.tenant_id == tenant_id)
                )
            ).scalars()
            gone = list(ids)
            await conn.execute(delete(table).where(table.c.tenant_id == tenant_id))
        return gone
