"""`ticketbot db`: the database of distributed mode (installations, OAuth state, workspaces'
connected accounts), and its line in `ticketbot check`.

- `db upgrade` (also run by `serve`, `socket` and `worker` at start-up), `db downgrade REV`
  (`base` removes every table: installations are lost), `db current`.
- `db new-key`: a key for TICKETBOT_ENCRYPTION_KEY.
- `db rotate-key`: with TICKETBOT_ENCRYPTION_KEY="new,old", every stored token encrypted again
  under the new key; then the old one can be dropped.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select

from bot.ops.config import AppConfig, ConfigError
from bot.store.sql.cipher import WRONG_KEY, CipherError, TokenCipher, new_key
from bot.store.sql.database import Database, DatabaseError, database_url, describe, unusable
from bot.store.sql.installations import SealedInstallationStore
from bot.store.sql.tables import team_accounts


def add_parser(sub: Any) -> None:
    db = sub.add_parser("db", help="distributed mode's database: migrations and the encryption key")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    db_sub.add_parser("upgrade", help="bring the schema up to date")
    down = db_sub.add_parser("downgrade", help="go back to a revision (base: no tables)")
    down.add_argument("revision")
    db_sub.add_parser("current", help="the revision the database is at, and the newest known")
    db_sub.add_parser("new-key", help="print a new key for TICKETBOT_ENCRYPTION_KEY")
    db_sub.add_parser("rotate-key", help="encrypt every stored token again under the first key")


def _database(config: AppConfig) -> Database:
    settings = config.settings
    try:
        return Database(database_url(settings.database_url, settings.ticketbot_data_dir))
    except DatabaseError as exc:
        raise ConfigError(str(exc)) from exc


async def run(config: AppConfig, args: argparse.Namespace, out: Callable[[str], None] = print) -> int:
    if args.db_command == "new-key":
        out(new_key())
        return 0
    database = _database(config)
    try:
        if args.db_command == "upgrade":
            await database.upgrade()
            out(f"{describe(database.url)}: at revision {(await database.revision())[0]}")
        elif args.db_command == "downgrade":
            await database.downgrade(args.revision)
            out(f"{describe(database.url)}: at revision {(await database.revision())[0] or 'base'}")
        elif args.db_command == "current":
            current, head = await database.revision()
            out(f"{describe(database.url)}: at {current or 'base (no tables)'}; newest {head}")
        elif args.db_command == "rotate-key":
            settings = config.settings
            if settings.ticketbot_encryption_key is None or not settings.slack_client_id:
                raise ConfigError("db rotate-key: needs TICKETBOT_ENCRYPTION_KEY and SLACK_CLIENT_ID")
            cipher = TokenCipher(settings.ticketbot_encryption_key.get_secret_value())
            store = SealedInstallationStore(database, settings.slack_client_id, cipher)

            def progress(table: str, rows: int) -> None:
                out(f"{table}: {rows} rows encrypted again")

            resealed = await store.reseal_all(progress=progress)
            out(f"{resealed} stored installations encrypted under the first key")
    finally:
        await database.aclose()
    return 0


async def check(config: AppConfig) -> tuple[bool, str]:
    """The database's line in `ticketbot check`: reachable, migrated, what it holds."""
    try:
        database = _database(config)
    except ConfigError as exc:
        return False, str(exc)
    try:
        await database.ping()
        current, head = await database.revision()
        if current != head:
            return False, (
                f"{describe(database.url)}: at revision {current or 'base'}, newest {head}: "
                "run `ticketbot db upgrade`"
            )
        key = config.settings.ticketbot_encryption_key
        if key is not None and config.settings.slack_client_id:
            store = SealedInstallationStore(
                database, config.settings.slack_client_id, TokenCipher(key.get_secret_value())
            )
            try:
                await store.check_key()
            except CipherError:
                return False, f"{describe(database.url)}: {WRONG_KEY}"
        async with database.engine.connect() as conn:
            tenants = (
                await conn.execute(select(func.count(func.distinct(team_accounts.c.tenant_id))))
            ).scalar()
        return True, f"{describe(database.url)} (revision {current}; {tenants} workspaces with a tool)"
    except Exception as exc:
        return False, unusable(database.url, exc)
    finally:
        await database.aclose()
