"""`ticketbot workspaces list|show`: the installed workspaces, for support."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from bot.cli import db, workspaces
from bot.domain.tenants import Connection
from bot.domain.workspace_settings import WorkspaceSettings
from bot.ops.config import ConfigError, Settings, build_config
from bot.store.activity import WorkspaceActivity
from bot.store.redis_client import connect
from bot.store.sql.cipher import TokenCipher
from bot.store.sql.database import Database, database_url
from bot.store.sql.installations import SealedInstallationStore
from bot.store.sql.personal_connections import PersonalConnection, PersonalConnections
from bot.store.sql.settings_store import SettingsStore
from bot.store.sql.team_accounts import TeamAccounts
from tests.bot.cli.test_db import distributed
from tests.bot.store.sql.test_installations import installation


async def test_list_and_show_say_what_support_asks(tmp_path: Path, clean_redis: str) -> None:
    config = distributed(tmp_path, redis_url=clean_redis)
    await db.run(config, argparse.Namespace(db_command="upgrade"), lambda _: None)
    database = Database(database_url(None, tmp_path))
    key = config.settings.ticketbot_encryption_key
    assert key is not None
    store = SealedInstallationStore(database, "1234.5678", TokenCipher(key.get_secret_value()))
    for team in ("T0ACME", "T0GLOBEX"):
        await store.async_save(installation(team))
    await TeamAccounts(database).save(Connection("T0ACME", "ia-jira", "jira", "Jira"))
    await TeamAccounts(database).save(
        Connection(
            "T0GLOBEX", "ia-linear", "linear", "Linear", status="authentication_error", last_error="401"
        )
    )
    await SettingsStore(database).save("T0ACME", WorkspaceSettings(identity="personal-required"), "U0ADMIN")
    await PersonalConnections(database).save(
        PersonalConnection("T0ACME", "U0ANA", "ia-ana", "ia-jira", "jira")
    )
    await database.aclose()
    redis = connect(clean_redis)
    await WorkspaceActivity(redis).seen("T0ACME", at=1_765_000_000.0)
    await redis.aclose()

    out: list[str] = []
    assert (
        await workspaces.run(config, argparse.Namespace(workspaces_command="list", limit=10), out.append) == 0
    )
    assert out[0] == "2 workspaces installed; the 2 newest:"
    [acme] = [line for line in out if line.startswith("T0ACME")]
    assert "tools: Jira" in acme and "identity: personal-required" in acme
    assert "last active: 2025-12-06 05:46 UTC" in acme
    [globex] = [line for line in out if line.startswith("T0GLOBEX")]
    assert "tools: Linear (authentication error)" in globex and "last active: never" in globex

    out.clear()
    assert (
        await workspaces.run(config, argparse.Namespace(workspaces_command="show", team="T0ACME"), out.append)
        == 0
    )
    assert out[0].startswith("T0ACME: installed ") and "installed by: U0ADMIN" in out[1]
    assert "  tool: Jira (ia-jira) connected" in out
    assert "  identity: personal-required; people with their own account: 1" in out
    out.clear()
    assert (
        await workspaces.run(
            config, argparse.Namespace(workspaces_command="show", team="T0NOBODY"), out.append
        )
        == 1
    )
    assert out == ["T0NOBODY: not installed (or uninstalled)"]


async def test_single_workspace_mode_has_no_workspaces_to_list(tmp_path: Path) -> None:
    config = build_config(Settings(slack_bot_token="xoxb-1", slack_signing_secret="s"))
    with pytest.raises(ConfigError, match="only distributed mode"):
        await workspaces.run(config, argparse.Namespace(workspaces_command="list", limit=5), print)
