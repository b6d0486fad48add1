"""Slack installations in SQL, their tokens encrypted: slack_sdk's own SQLAlchemy stores, with a
layer that seals every token before it is written and opens it after it is read.

Bolt's OAuth flow saves through this store, its authorize and token rotation read and re-save
through it, and its uninstall handling deletes through it: no token is in the database in clear.
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime
from typing import Any, TypeVar

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.oauth.installation_store.models.bot import Bot
from slack_sdk.oauth.installation_store.models.installation import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import (
    AsyncSQLAlchemyInstallationStore,
    SQLAlchemyInstallationStore,
)
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy import BindParameter, Select, Table, and_, bindparam, delete, desc, select, update

from bot.domain.tenants import tenant_of
from bot.store.sql.cipher import TokenCipher
from bot.store.sql.database import Database
from bot.store.sql.tables import BOTS, INSTALLATIONS, OAUTH_STATES

log = logging.getLogger(__name__)
STATE_SECONDS = 600  # an "Add to Slack" link works this long
MAX_OAUTH_STATES = 5000  # install links outstanding at once, in all; past it the oldest are swept
RESEAL_BATCH = 1000  # rows encrypted again per transaction and statement (`db rotate-key`)

_TOKENS = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
Record = TypeVar("Record", Installation, Bot)


def _with(record: Record, change: Callable[[str | None], str | None]) -> Record:
    out = copy.copy(record)
    for name in _TOKENS:
        if hasattr(out, name):
            setattr(out, name, change(getattr(out, name)))
    return out


class SealedInstallationStore(AsyncInstallationStore):
    def __init__(self, database: Database, client_id: str, cipher: TokenCipher) -> None:
        self.inner = AsyncSQLAlchemyInstallationStore(
            client_id=client_id,
            engine=database.engine,
            bots_table_name=BOTS,
            installations_table_name=INSTALLATIONS,
            logger=log,
        )
        self.cipher = cipher
        self.database = database
        # Told the tenant of each installation saved (an install, a reinstall): every process
        # then reads it again instead of keeping what it knew (perhaps "not installed").
        self.saved: Callable[[str], Awaitable[None]] | None = None

    @property
    def logger(self) -> logging.Logger:
        return log

    async def async_save(self, installation: Installation) -> None:
        await self.inner.async_save(_with(installation, self.cipher.seal))
        if self.saved is not None:
            org = bool(installation.is_enterprise_install)
            await self.saved(tenant_of(installation.team_id, installation.enterprise_id, org))

    async def async_save_bot(self, bot: Bot) -> None:
        await self.inner.async_save_bot(_with(bot, self.cipher.seal))

    async def async_find_bot(
        self, *, enterprise_id: str | None, team_id: str | None, is_enterprise_install: bool | None = False
    ) -> Bot | None:
        bot = await self.inner.async_find_bot(
            enterprise_id=enterprise_id, team_id=team_id, is_enterprise_install=is_enterprise_install
        )
        return _with(bot, self.cipher.open) if bot is not None else None

    async def async_find_installation(
        self,
        *,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        is_enterprise_install: bool | None = False,
    ) -> Installation | None:
        found = await self.inner.async_find_installation(
            enterprise_id=enterprise_id,
            team_id=team_id,
            user_id=user_id,
            is_enterprise_install=is_enterprise_install,
        )
        return _with(found, self.cipher.open) if found is not None else None

    async def async_delete_bot(self, *, enterprise_id: str | None, team_id: str | None) -> None:
        await self.inner.async_delete_bot(enterprise_id=enterprise_id, team_id=team_id)

    async def async_delete_installation(
        self, *, enterprise_id: str | None, team_id: str | None, user_id: str | None = None
    ) -> None:
        await self.inner.async_delete_installation(
            enterprise_id=enterprise_id, team_id=team_id, user_id=user_id
        )

    async def bot_of_tenant(self, tenant_id: str) -> Bot | None:
        """The newest bot installation serving a tenant: a workspace by its team id, or a Grid
        org installed org-wide by its enterprise id (see bot/domain/tenants.py)."""
        async with self.database.engine.connect() as conn:
            row = (await conn.execute(self.newest(self.inner.bots, tenant_id))).mappings().first()
        return self.bot_from(row) if row is not None else None

    async def installer_of_tenant(self, tenant_id: str) -> str | None:
        """Who installed the app for the tenant (the newest installation's user)."""
        table = self.inner.installations
        query = self.newest(table, tenant_id).with_only_columns(table.c.user_id)
        async with self.database.engine.connect() as conn:
            user = (await conn.execute(query)).scalar()
        return str(user) if user else None

    def newest(
        self, table: Table, tenant_id: str | BindParameter[str], *, org: bool | None = None
    ) -> Select[Any]:
        """The newest row of `table` (bots or installations) serving a tenant, through an index
        that serves it (migration 0004): a Grid org's id (E…) names an org-wide install, any
        other a workspace (T…). `tenant_id` may be a bind parameter, with `org` saying which."""
        c = table.c
        if org is None:
            org = str(tenant_id).startswith("E")
        if org:
            serving = and_(c.enterprise_id == tenant_id, c.is_enterprise_install.is_(True))
        else:
            serving = and_(c.team_id == tenant_id, c.is_enterprise_install.is_(False))
        return (
            select(table)
            .where(c.client_id == self.inner.client_id)
            .where(serving)
            .order_by(desc(c.installed_at))
            .limit(1)
        )

    def bot_from(self, row: Mapping[str, Any]) -> Bot:
        """A stored bot row as slack_sdk's Bot, its tokens opened in the row first (one Bot
        built, not one and then its copy: a cold workspace's read, #41)."""
        opened = {**row, **{name: self.cipher.open(row[name]) for name in _TOKENS if name in row}}
        bot: Bot = SQLAlchemyInstallationStore.build_bot_entity(opened)
        return bot

    async def check_key(self) -> None:
        """One stored bot token opened with the configured keys; CipherError when it does not
        (the key changed: the one they were sealed with is needed). Nothing stored: nothing to say."""
        bots = self.inner.bots
        async with self.database.engine.connect() as conn:
            sealed = (
                await conn.execute(select(bots.c.bot_token).where(bots.c.bot_token.is_not(None)).limit(1))
            ).scalar()
        self.cipher.open(sealed)

    async def reseal_all(
        self, batch: int = RESEAL_BATCH, progress: Callable[[str, int], None] | None = None
    ) -> int:
        """Every stored token encrypted again under the first key (key rotation); how many rows.
        In batches of `batch` rows by id, each one transaction and one UPDATE statement run with
        the batch's values (executemany), `progress(table, rows so far)` after each."""
        changed = 0
        for table in (self.inner.installations, self.inner.bots):
            columns = [table.c[name] for name in _TOKENS if name in table.c]
            statement = (
                update(table)
                .where(table.c.id == bindparam("row_id"))
                .values({c.name: bindparam(f"new_{c.name}") for c in columns})
            )
            done, after = 0, -1
            while True:
                async with self.database.engine.begin() as conn:
                    page = (
                        select(table.c.id, *columns)
                        .where(table.c.id > after)
                        .order_by(table.c.id)
                        .limit(batch)
                    )
                    rows = (await conn.execute(page)).mappings().all()
                    if not rows:
                        break
                    values = [
                        {
                            "row_id": row["id"],
                            **{f"new_{c.name}": self.cipher.reseal(row[c.name]) for c in columns},
                        }
                        for row in rows
                    ]
                    await conn.execute(statement, values)
                done += len(rows)
                after = rows[-1]["id"]
                if progress is not None:
                    progress(table.name, done)
            changed += done
        return changed


class SweptOAuthStateStore(AsyncSQLAlchemyOAuthStateStore):
    """slack_sdk's state store, which deletes a state only when it is used: here each new state
    also sweeps the expired ones and, past `most` rows, the oldest, so opening /slack/install
    again and again (anyone can) keeps at most `most` rows (an install link swept early just
    asks its reader to open it again)."""

    def __init__(self, *args: Any, most: int = MAX_OAUTH_STATES, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.most = most

    async def async_issue(self, *args: Any, **kwargs: Any) -> str:
        now = datetime.now(UTC).replace(tzinfo=None)  # slack_sdk stores naive UTC
        states = self.oauth_states
        newest = (
            select(states.c.id).order_by(states.c.expire_at.desc(), states.c.id.desc()).limit(self.most - 1)
        )
        async with self.engine.begin() as conn:
            await conn.execute(delete(states).where(states.c.expire_at < now))
            await conn.execute(delete(states).where(states.c.id.not_in(newest.scalar_subquery())))
        state: str = await super().async_issue(*args, **kwargs)
        return state


def oauth_state_store(database: Database, most: int = MAX_OAUTH_STATES) -> AsyncSQLAlchemyOAuthStateStore:
    return SweptOAuthStateStore(
        expiration_seconds=STATE_SECONDS,
        engine=database.engine,
        logger=log,
        table_name=OAUTH_STATES,
        most=most,
    )
