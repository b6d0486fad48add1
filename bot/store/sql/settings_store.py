"""Each workspace's settings (the `workspace_settings` table), one JSON row per tenant."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from pydantic import ValidationError
from sqlalchemy import delete, insert, select, update

from bot.domain.workspace_settings import WorkspaceSettings, default_settings
from bot.store.sql.database import Database
from bot.store.sql.tables import workspace_settings as table

log = logging.getLogger(__name__)


def settings_from(raw: str | None, tenant_id: str) -> WorkspaceSettings:
    """A stored row's settings, or the defaults (none stored, or one this version cannot read)."""
    if raw is None:
        return default_settings()
    try:
        return WorkspaceSettings.model_validate_json(raw)
    except ValidationError:
        log.error("settings of %s cannot be read by this version; defaults used", tenant_id)
        return default_settings()


class SettingsStore:
    def __init__(self, database: Database) -> None:
        self.engine = database.engine

    async def get(self, tenant_id: str) -> WorkspaceSettings:
        """The stored settings, or the defaults (also for a row this version cannot read)."""
        async with self.engine.connect() as conn:
            raw = (await conn.execute(select(table.c.data).where(table.c.tenant_id == tenant_id))).scalar()
        return settings_from(raw, tenant_id)

    async def save(self, tenant_id: str, settings: WorkspaceSettings, by: str | None) -> None:
        values = {"data": settings.model_dump_json(), "updated_by": by, "updated_at": datetime.now(UTC)}
        async with self.engine.begin() as conn:
            changed = await conn.execute(update(table).where(table.c.tenant_id == tenant_id).values(**values))
            if not changed.rowcount:
                await conn.execute(insert(table).values(tenant_id=tenant_id, **values))

    async def remove(self, tenant_id: str) -> None:
        async with self.engine.begin() as conn:
            await conn.execute(delete(table).where(table.c.tenant_id == tenant_id))
