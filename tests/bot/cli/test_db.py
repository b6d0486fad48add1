"""`ticketbot db …` and `ticketbot check` in distributed mode, on a SQLite file."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.cli import db
from bot.cli.doctor import run_checks
from bot.ops.config import AppConfig, Settings, build_config
from bot.sandbox import SANDBOX_TOKEN, SandboxServer
from bot.store.sql.cipher import TokenCipher, new_key
from bot.store.sql.database import database_url


def distributed(tmp_path: Path, sandbox_url: str = "https://api.truto.one") -> AppConfig:
    return build_config(
        Settings(
            slack_client_id="1234.5678",
            slack_client_secret="s3cret",
            slack_signing_secret="signing",
            ticketbot_encryption_key=new_key(),
            ticketbot_data_dir=tmp_path,
            truto_api_token=SANDBOX_TOKEN,
            truto_base_url=sandbox_url,
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
        f"{where}: at base (no tables); newest 0002",
        f"{where}: at revision 0002",
        f"{where}: at 0002; newest 0002",
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
    assert checks["database"].ok and "(revision 0002; 0 workspaces with a tool)" in checks["database"].detail
    assert "Slack auth.test" not in checks  # no bot token to test: each workspace has its own
