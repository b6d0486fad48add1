"""A database for each test: SQLite in a temporary folder, and a real PostgreSQL server
(TEST_POSTGRES_URL, default the local server's `ticketbot_test` database; `.ci/run` creates it).
Each PostgreSQL test starts from an empty schema."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from bot.store.sql.database import Database, database_url

POSTGRES = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/ticketbot_test")


def _per_worker(url: str) -> str:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    return f"{url}_{worker}" if worker.startswith("gw") else url


async def _empty_postgres(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    try:
        conn = await asyncpg.connect(url, timeout=3)
    except asyncpg.InvalidCatalogNameError:
        admin = await asyncpg.connect(url.rsplit("/", 1)[0] + "/postgres", timeout=3)
        await admin.execute(f'CREATE DATABASE "{name}"')
        await admin.close()
        conn = await asyncpg.connect(url, timeout=3)
    await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public")
    await conn.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        url = database_url(None, tmp_path)
    else:
        plain = _per_worker(POSTGRES)
        try:
            await _empty_postgres(plain)
        except (OSError, asyncpg.PostgresError) as exc:
            if os.environ.get("CI"):
                raise
            pytest.skip(f"no PostgreSQL server at {plain}: {exc}")
        url = database_url(plain)
    db = Database(url)
    await db.upgrade()
    yield db
    await db.aclose()
