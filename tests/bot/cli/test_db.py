"""`ticketbot db …` and `ticketbot check` in distributed mode, on a SQLite file."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import pytest

from bot.cli import db
from bot.cli.doctor import run_checks
from bot.ops.config import AppConfig, Settings, build_config
from bot.sandbox import SANDBOX_TOKEN, SandboxServer
from bot.store.sql.cipher import TokenCipher, new_key
from bot.store.sql.database import database_url


def distributed(tmp_path: Path, sandbox_url: str = "https://api.truto.one", **extra: Any) -> AppConfig:
    return build_config(
        Settings(
            slack_client_id="1234.5678",
            slack_client_secret="s3cret",
            slack_signing_secret="signing",
            ticketbot_encryption_key=new_key(),
            ticketbot_data_dir=tmp_path,
            truto_api_token=SANDBOX_TOKEN,
            truto_base_url=sandbox_url,
            **extra,
        )
    )


async def test_upgrade_current_downgrade(tmp_path: Path) -> None:
    config = distributed(tmp_path)
    out: list[str] = []
    for command in ("current", "upgrade", "current"):
        assert await db.run(config, argparse.Namespace(db_command=command), out.append) == 0
    await db.run(config, argparse.Namespace(db_command="downgrade", revision="base"), out.append)
    where = database_url(None, tmp_path)
    assert out == [
        f"{where}: at base (no tables); newest 0004",
        f"{where}: at revision 0004",
        f"{where}: at 0004; newest 0004",
        f"{where}: at revision base",
    ]


def test_a_new_key_opens_what_it_sealed() -> None:
    key = new_key()
    cipher = TokenCipher(key)
    assert cipher.open(cipher.seal("xoxb-1")) == "xoxb-1"


async def test_check_names_the_mode_and_the_database(tmp_path: Path, sandbox: SandboxServer) -> None:
    config = distributed(tmp_path, sandbox.base_url)
    checks = {c.name: c for c in await run_checks(lambda: config)}
    assert checks["mode"].detail.startswith("distributed")
    assert not checks["database"].ok and "run `ticketbot db upgrade`" in checks["database"].detail
    await db.run(config, argparse.Namespace(db_command="upgrade"), lambda _: None)
    checks = {c.name: c for c in await run_checks(lambda: config)}
    assert checks["database"].ok and "(revision 0004; 0 workspaces with a tool)" in checks["database"].detail
    assert "Slack auth.test" not in checks  # no bot token to test: each workspace has its own


async def _one_installation(config: AppConfig) -> None:
    """A workspace installed under `config`'s key (its bot token sealed with it)."""
    from slack_sdk.oauth.installation_store.models.installation import Installation

    from bot.store.sql.database import Database
    from bot.store.sql.installations import SealedInstallationStore

    settings = config.settings
    assert settings.ticketbot_encryption_key is not None and settings.slack_client_id
    database = Database(database_url(None, settings.ticketbot_data_dir))
    await database.upgrade()
    store = SealedInstallationStore(
        database, settings.slack_client_id, TokenCipher(settings.ticketbot_encryption_key.get_secret_value())
    )
    await store.async_save(
        Installation(app_id="A1", team_id="T0ACME", user_id="U0ADMIN", bot_token="xoxb-acme", bot_id="B1")
    )
    await database.aclose()


async def test_a_changed_key_is_named_by_check_and_at_start_up(
    tmp_path: Path, sandbox: SandboxServer
) -> None:
    """The README makes a key inline; a new terminal makes another. Before: "all checks passed",
    then every request 500. Now check and start-up say what is wrong and what fixes it."""
    from bot.ops.config import ConfigError
    from handlers.app import build_bot

    await _one_installation(distributed(tmp_path, sandbox.base_url))
    other = distributed(tmp_path, sandbox.base_url)  # another new key
    [line] = [c for c in await run_checks(lambda: other) if c.name == "database"]
    assert not line.ok and "the stored tokens do not open with this key" in line.detail
    assert "`ticketbot db rotate-key`" in line.detail
    bot = build_bot(other)
    try:
        await bot.prepare()
        raise AssertionError("start-up went on with a key that opens nothing")
    except ConfigError as exc:
        assert str(exc).startswith("TICKETBOT_ENCRYPTION_KEY: the stored tokens do not open with this key")


def test_an_invalid_key_is_named_in_one_line() -> None:
    from bot.ops.config import ConfigError, load_config

    try:
        load_config(slack_client_id="1.2", slack_client_secret="s", ticketbot_encryption_key="abc")
        raise AssertionError("a key of three letters was taken")
    except ConfigError as exc:
        assert "TICKETBOT_ENCRYPTION_KEY" in str(exc) and "key 1 is not a key" in str(exc)
        assert "abc" not in str(exc)  # never repeated


async def test_a_postgresql_database_that_does_not_exist_is_said_so(tmp_path: Path) -> None:
    from tests.bot.store.sql.conftest import POSTGRES

    url = POSTGRES.rsplit("/", 1)[0] + "/ticketbot_no_such_database"
    config = build_config(
        Settings(
            slack_client_id="1234.5678",
            slack_client_secret="s3cret",
            slack_signing_secret="signing",
            ticketbot_encryption_key=new_key(),
            database_url=url,
            truto_api_token=SANDBOX_TOKEN,
        )
    )
    ok, detail = await db.check(config)
    if "no database server answers" in detail and not os.environ.get("CI"):
        pytest.skip("no PostgreSQL server here")
    assert not ok
    assert "the database 'ticketbot_no_such_database' does not exist on that server" in detail
    assert "createdb ticketbot_no_such_database" in detail


async def test_check_says_where_one_workspace_keeps_own_connections(tmp_path: Path) -> None:
    def single(**settings: object) -> AppConfig:
        return build_config(
            Settings(
                slack_bot_token="xoxb-1",
                slack_signing_secret="signing",
                truto_integrated_account_id="acc-1",
                **settings,
            )
        )

    checks = await run_checks(lambda: single())
    [told] = [c for c in checks if c.name == "own connections"]
    assert told.ok and told.detail.startswith("not offered: no database named")
    with_folder = single(ticketbot_data_dir=tmp_path)
    checks = await run_checks(lambda: with_folder)
    [told] = [c for c in checks if c.name == "own connections"]
    assert not told.ok and "run `ticketbot db upgrade`" in told.detail
    await db.run(with_folder, argparse.Namespace(db_command="upgrade"), lambda _: None)
    checks = await run_checks(lambda: with_folder)
    [told] = [c for c in checks if c.name == "own connections"]
    assert told.ok and "revision 0004" in told.detail
