"""People's own connections (the `personal_connections` table): which integrated account acts
for a person of a workspace, on that workspace's account of the same tool."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update

from bot.store.sql.database import Database
from bot.store.sql.tables import personal_connections as table


@dataclass(frozen=True)
class PersonalConnection:
    tenant_id: str
    slack_user_id: str
    integrated_account_id: str  # the person's own
    shared_account_id: str  # the workspace's account of the same tool
    integration: str = ""
    status: str = "active"


class PersonalConnections:
    def __init__(self, database: Database) -> None:
        self.engine = database.engine

    async def of_person(self, tenant_id: str, slack_user_id: str) -> list[PersonalConnection]:
        query = select(table).where(table.c.tenant_id == tenant_id, table.c.slack_user_id == slack_user_id)
        async with self.engine.connect() as conn:
            return [_row(r) for r in (await conn.execute(query)).mappings()]

    async def by_account(self, integrated_account_id: str) -> PersonalConnection | None:
        query = select(table).where(table.c.integrated_account_id == integrated_account_id)
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).mappings().first()
        return _row(row) if row is not None else None

    async def save(self, connection: PersonalConnection) -> None:
        """The person's connection to that tool, replacing an earlier one of theirs."""
        async with self.engine.begin() as conn:
            await conn.execute(
                delete(table).where(
                    table.c.tenant_id == connection.tenant_id,
                    table.c.slack_user_id == connection.slack_user_id,
                    table.c.shared_account_id == connection.shared_account_id,
                )
            )
            await conn.execute(
                delete(table).where(table.c.integrated_account_id == connection.integrated_account_id)
            )
            await conn.execute(
                insert(table).values(
                    tenant_id=connection.tenant_id,
                    slack_user_id=connection.slack_user_id,
                    integrated_account_id=connection.integrated_account_id,
                    shared_account_id=connection.shared_account_id,
                    integration=connection.integration,
                    status=connection.status,
                )
            )

    async def set_status(self, integrated_account_id: str, status: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(
                update(table)
                .where(table.c.integrated_account_id == integrated_account_id)
                .values(status=status)
            )

    async def remove(self, integrated_account_id: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(table).where(table.c.integrated_account_id == integrated_account_id))

    async def forget(self, tenant_id: str, slack_user_id: str | None = None) -> list[str]:
        """A workspace's (or one person's) connections deleted: their integrated account ids."""
        where = [table.c.tenant_id == tenant_id]
        if slack_user_id is not None:
            where.append(table.c.slack_user_id == slack_user_id)
        async with self.engine.begin() as conn:
            ids = list((await conn.execute(select(table.c.integrated_account_id).where(*where))).scalars())
            await conn.execute(delete(table).where(*where))
        return ids


def _row(row: object) -> PersonalConnection:
    r = dict(row)  # type: ignore[call-overload]
    return PersonalConnection(
        tenant_id=r["tenant_id"],
        slack_user_id=r["slack_user_id"],
        integrated_account_id=r["integrated_account_id"],
        shared_account_id=r["shared_account_id"],
        integration=r["integration"],
        status=r["status"],
    )
