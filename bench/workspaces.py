"""Distributed mode for the benchmarks: a database with one workspace installed (its bot token
sealed) and its Jira connected, as the OAuth flow and the link flow would leave it."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path

from slack_sdk.oauth.installation_store.models.installation import Installation

from bot.domain.tenants import Connection
from bot.store.sql.cipher import TokenCipher, new_key
from bot.store.sql.database import Database, database_url
from bot.store.sql.installations import SealedInstallationStore
from bot.store.sql.team_accounts import TeamAccounts

CLIENT_ID = "1234.5678"
TEAM = "T0TEAM"  # the team bench/signing.py signs its commands for


async def _seed(url: str, key: str) -> None:
    database = Database(url)
    await database.upgrade()
    store = SealedInstallationStore(database, CLIENT_ID, TokenCipher(key))
    await store.async_save(
        Installation(
            app_id="A0TICKETBOT",
            team_id=TEAM,
            bot_token="xoxb-bench",
            bot_id="B0BENCH",
            bot_user_id="U0BENCHBOT",
            bot_scopes="commands,chat:write",
            user_id="U0ADMIN",
            installed_at=time.time(),
        )
    )
    await TeamAccounts(database).save(Connection(TEAM, "sandbox-jira", "jira", "Jira"))
    await database.aclose()


def distributed_env() -> dict[str, str]:
    """The environment of a `ticketbot serve` in distributed mode, its database seeded."""
    folder = tempfile.mkdtemp(prefix="ticketbot-bench-")
    key = new_key()
    asyncio.run(_seed(database_url(None, Path(folder)), key))
    return {
        "SLACK_CLIENT_ID": CLIENT_ID,
        "SLACK_CLIENT_SECRET": "bench-client-secret",
        "TICKETBOT_ENCRYPTION_KEY": key,
        "TICKETBOT_DATA_DIR": folder,
    }
