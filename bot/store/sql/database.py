"""The database: its URL, its engine, and its schema brought up to date by the migrations.

`DATABASE_URL` unset means SQLite in a file (`ticketbot.db` in `TICKETBOT_DATA_DIR`, else the
working directory); `postgresql+asyncpg://…` in production. Plain `postgresql://` and `sqlite://`
URLs are given their async drivers, so a URL copied from a managed database's console works.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.domain.redact import mask_url_credentials
from bot.ops.metrics import SQL_STATEMENTS

MIGRATIONS = Path(__file__).parent / "migrations"
DEFAULT_FILE = "ticketbot.db"
PING_IDLE_SECONDS = 10.0  # a pooled connection idle longer is pinged before use
MIGRATION_LOCK = 0x7469636B  # PostgreSQL advisory lock key ("tick"): one migrating replica at a time
_DRIVERS = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
}


class DatabaseError(Exception):
    """The database cannot be used; the message says which and why (no password)."""


def unusable(url: str, exc: Exception) -> str:
    """Why the database at `url` cannot be used, in words that say what to do."""
    name = url.rsplit("/", 1)[-1].split("?", 1)[0]
    kind = type(exc).__name__
    if kind == "InvalidCatalogNameError" or ("does not exist" in str(exc) and "database" in str(exc)):
        return (
            f"{describe(url)}: the database {name!r} does not exist on that server; create it "
            f'(`createdb {name}`, or CREATE DATABASE "{name}"), then start again'
        )
    if isinstance(exc, OSError | TimeoutError) or kind in ("ConnectionRefusedError", "CannotConnectNowError"):
        return f"{describe(url)}: no database server answers there (DATABASE_URL)"
    return f"{describe(url)}: cannot use it ({kind})"


def database_url(url: str | None, data_dir: Path | None = None) -> str:
    """The async SQLAlchemy URL to use."""
    if not url:
        folder = data_dir or Path.cwd()
        return f"sqlite+aiosqlite:///{(folder / DEFAULT_FILE).resolve()}"
    scheme, sep, rest = url.partition("://")
    if not sep:
        raise DatabaseError(f"DATABASE_URL: {mask_url_credentials(url)!r} is not a URL")
    scheme = _DRIVERS.get(scheme, scheme)
    if scheme not in ("postgresql+asyncpg", "sqlite+aiosqlite"):
        raise DatabaseError(
            f"DATABASE_URL: {scheme}:// is not supported; use postgresql+asyncpg://… or sqlite+aiosqlite:///…"
        )
    return f"{scheme}://{rest}"


def describe(url: str) -> str:
    """The URL as shown to people: the password masked."""
    return make_url(url).render_as_string(hide_password=True)


def _count_statement(*_: Any) -> None:
    SQL_STATEMENTS.inc()


class IdlePing:
    """A pooled connection is pinged before use only when it has been idle longer than
    `idle_seconds`: one used a moment ago is alive (SQLAlchemy's pool_pre_ping pings before
    every use, a round trip per request). A failed ping discards the connection and the pool
    takes another (SQLAlchemy's documented DisconnectionError contract for checkout events)."""

    def __init__(self, engine: Engine, idle_seconds: float = PING_IDLE_SECONDS) -> None:
        self.engine = engine
        self.idle_seconds = idle_seconds

    def listen(self) -> None:
        event.listen(self.engine, "checkout", self.checkout)
        event.listen(self.engine, "checkin", self.checkin)

    def checkout(self, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        used = record.info.get("used_at")  # none yet: a connection just opened, alive
        if used is None or time.monotonic() - used <= self.idle_seconds:
            return
        try:
            self.engine.dialect.do_ping(dbapi_connection)
        except Exception as exc:
            raise DisconnectionError(f"the database did not answer a ping: {type(exc).__name__}") from exc

    def checkin(self, _dbapi_connection: Any, record: Any) -> None:
        record.info["used_at"] = time.monotonic()


class Database:
    """One engine per process; `upgrade()` runs the migrations."""

    def __init__(self, url: str) -> None:
        self.url = url
        # Ten connections kept: ten cold workspaces read at once (acks at concurrency 10) find
        # one each, instead of opening overflow connections that are closed again after use
        # (opening one took 10-30 ms: the tail of cold acks, bench/tenants.py).
        options: dict[str, Any] = {"pool_size": 10, "max_overflow": 5}
        if url.startswith("sqlite"):
            Path(make_url(url).database or DEFAULT_FILE).parent.mkdir(parents=True, exist_ok=True)
        self.engine: AsyncEngine = create_async_engine(url, **options)
        event.listen(self.engine.sync_engine, "before_cursor_execute", _count_statement)
        if not url.startswith("sqlite"):  # a file does not go away between two uses; a server may
            IdlePing(self.engine.sync_engine).listen()

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    def _config(self, connection: Connection) -> Config:
        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        return config

    async def upgrade(self, revision: str = "head") -> None:
        """Safe to run from every replica at once: on PostgreSQL one runs the migrations while
        the others wait for its lock, then find nothing left to do."""
        async with self.engine.begin() as conn:
            if not self.is_sqlite:
                await conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            await conn.run_sync(lambda sync: command.upgrade(self._config(sync), revision))

    async def downgrade(self, revision: str) -> None:
        async with self.engine.begin() as conn:
            await conn.run_sync(lambda sync: command.downgrade(self._config(sync), revision))

    async def revision(self) -> tuple[str | None, str]:
        """(the revision the database is at, the newest this version knows)."""

        def read(sync: Connection) -> tuple[str | None, str]:
            current = MigrationContext.configure(sync).get_current_revision()
            head = ScriptDirectory.from_config(self._config(sync)).get_current_head()
            return current, head or ""

        async with self.engine.connect() as conn:
            return await conn.run_sync(read)

    async def ping(self, within: float = 3.0) -> None:
        async with asyncio.timeout(within), self.engine.connect() as conn:
            await conn.exec_driver_sql("SELECT 1")

    async def aclose(self) -> None:
        await self.engine.dispose()
