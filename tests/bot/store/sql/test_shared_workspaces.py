"""The workspace state every process shares in Redis (#41): read once from the database, then
from Redis by any process that does not keep it; never used once a change was announced."""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis

from bot.domain.tenants import Connection
from bot.domain.workspace_settings import WorkspaceSettings
from bot.ops.config import AppConfig, Settings
from bot.service.workspaces import Workspaces
from bot.store import shared_workspaces
from bot.store.announcements import Announcements
from bot.store.shared_workspaces import SharedWorkspaces, decode, encode
from bot.store.sql.cipher import TokenCipher, new_key
from bot.store.sql.database import Database
from bot.store.sql.installations import SealedInstallationStore
from bot.store.sql.settings_store import SettingsStore
from bot.store.sql.team_accounts import TeamAccounts
from tests.bot.store.sql.test_installations import BOT_TOKEN, installation

CONFIG = AppConfig(settings=Settings(), accounts={}, channels={}, default_account=None)


class Replica:
    """One process's Workspaces over the shared database and Redis, its statements counted."""

    def __init__(self, database: Database, redis: aioredis.Redis, key: str) -> None:
        cipher = TokenCipher(key)
        store = SealedInstallationStore(database, "1234.5678", cipher)
        self.workspaces = Workspaces(
            CONFIG,
            store,
            TeamAccounts(database),
            SettingsStore(database),
            Announcements(redis),
            shared=SharedWorkspaces(redis, cipher.fingerprint),
        )
        self.reads: list[str] = []
        rows = self.workspaces.states.rows

        async def counted(tenant: str) -> list[dict[str, Any]]:
            self.reads.append(tenant)
            return await rows(tenant)

        self.workspaces.states.rows = counted  # type: ignore[method-assign]


async def seeded(database: Database, key: str) -> None:
    store = SealedInstallationStore(database, "1234.5678", TokenCipher(key))
    await store.async_save(installation("T0ACME"))
    await TeamAccounts(database).save(Connection("T0ACME", "ia-jira", "jira", "Jira", connected_by="U0ANA"))
    await TeamAccounts(database).save(Connection("T0ACME", "ia-linear", "linear", "Linear"))
    await SettingsStore(database).save("T0ACME", WorkspaceSettings(users=("U0ANA",)), "U0ADMIN")


async def test_a_second_process_reads_the_workspace_from_redis_not_the_database(
    database: Database, clean_redis: str
) -> None:
    key = new_key()
    await seeded(database, key)
    redis = aioredis.Redis.from_url(clean_redis)
    first, second = Replica(database, redis, key), Replica(database, redis, key)

    bot = await first.workspaces.bot("T0ACME")
    assert first.reads == ["T0ACME"]
    again = await second.workspaces.bot("T0ACME")
    assert bot is not None and again is not None and again.to_dict() == bot.to_dict()
    assert second.reads == []  # one round trip to Redis, no statement
    assert bot is not None and bot.bot_token == BOT_TOKEN  # opened after Redis, sealed in it
    raw = await redis.get(shared_workspaces.copy_key("T0ACME", TokenCipher(key).fingerprint))
    assert raw is not None and BOT_TOKEN.encode() not in raw
    assert [c.integrated_account_id for c in await second.workspaces.connections("T0ACME")] == [
        "ia-jira",
        "ia-linear",
    ]
    assert (await second.workspaces.settings("T0ACME")).users == ("U0ANA",)
    assert (await second.workspaces.connections("T0ACME"))[0].connected_by == "U0ANA"
    await redis.aclose()


async def test_an_announced_change_makes_every_copy_unusable(database: Database, clean_redis: str) -> None:
    key = new_key()
    await seeded(database, key)
    redis = aioredis.Redis.from_url(clean_redis)
    first, second = Replica(database, redis, key), Replica(database, redis, key)
    await first.workspaces.bot("T0ACME")
    await first.workspaces.save_settings("T0ACME", WorkspaceSettings(users=("U0BEN",)), "U0ADMIN")

    # `second` never heard the announcement (not listening): the shared copy alone must not
    # give it the settings from before the change.
    assert (await second.workspaces.settings("T0ACME")).users == ("U0BEN",)
    assert second.reads == ["T0ACME"]
    third = Replica(database, redis, key)
    assert (await third.workspaces.settings("T0ACME")).users == ("U0BEN",)
    assert third.reads == []  # the copy `second` read after the change is current
    await redis.aclose()


async def test_a_copy_read_while_a_change_landed_is_not_used(database: Database, clean_redis: str) -> None:
    """The reader saw the mark, then the database; a change announced in between makes what it
    stores unusable, whichever of the two states the database gave it."""
    key = new_key()
    await seeded(database, key)
    redis = aioredis.Redis.from_url(clean_redis)
    shared = SharedWorkspaces(redis, TokenCipher(key).fingerprint)
    states = Replica(database, redis, key).workspaces.states
    announcements = Announcements(redis)

    async def read_then_a_change_lands(tenant: str) -> list[dict[str, Any]]:
        rows = await states.rows(tenant)  # the state before the change
        await SettingsStore(database).save(tenant, WorkspaceSettings(users=("U0BEN",)), "U0ADMIN")
        await announcements.publish(tenant)
        return rows

    old = await shared.rows("T0ACME", read_then_a_change_lands)
    assert states.state_from("T0ACME", old).settings.users == ("U0ANA",)
    database_reads: list[str] = []

    async def from_database(tenant: str) -> list[dict[str, Any]]:
        database_reads.append(tenant)
        return await states.rows(tenant)

    now = await shared.rows("T0ACME", from_database)
    assert database_reads == ["T0ACME"]
    assert states.state_from("T0ACME", now).settings.users == ("U0BEN",)
    await redis.aclose()


async def test_other_keys_unreadable_copies_and_redis_away_read_the_database(
    database: Database, clean_redis: str
) -> None:
    key = new_key()
    await seeded(database, key)
    redis = aioredis.Redis.from_url(clean_redis)
    await Replica(database, redis, key).workspaces.bot("T0ACME")

    rotated = Replica(database, redis, f"{new_key()},{key}")  # a new key first: a new copy
    assert (await rotated.workspaces.bot("T0ACME")) is not None
    assert rotated.reads == ["T0ACME"]

    copy = shared_workspaces.copy_key("T0ACME", TokenCipher(key).fingerprint)
    mark = (await redis.get(shared_workspaces.mark_key("T0ACME")) or b"").decode()
    assert len(mark) == 16
    wrong_rows = '{"mark": "' + mark + '", "rows": [{"b_id": 1}]}'
    for garbage in (b"not json", b'{"mark": 0}', wrong_rows.encode()):
        await redis.set(copy, garbage)
        replica = Replica(database, redis, key)
        bot = await replica.workspaces.bot("T0ACME")
        assert replica.reads == ["T0ACME"] and bot is not None and bot.bot_token == BOT_TOKEN
        assert decode(await redis.get(copy) or b"")[1][0]["b_team_id"] == "T0ACME"  # written again

    away = aioredis.Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)
    replica = Replica(database, away, key)
    assert (await replica.workspaces.bot("T0ACME")) is not None
    assert replica.reads == ["T0ACME"]
    await redis.aclose()


async def test_a_workspace_not_installed_is_shared_too(database: Database, clean_redis: str) -> None:
    redis = aioredis.Redis.from_url(clean_redis)
    key = new_key()
    first, second = Replica(database, redis, key), Replica(database, redis, key)
    assert await first.workspaces.bot("T0NOBODY") is None
    assert await second.workspaces.bot("T0NOBODY") is None
    assert (first.reads, second.reads) == (["T0NOBODY"], [])
    await redis.aclose()


def test_rows_survive_the_round_trip_with_their_dates() -> None:
    from datetime import UTC, datetime

    rows = [
        {"b_id": 1, "b_installed_at": datetime(2026, 12, 6, 9, 30, tzinfo=UTC), "s_data": '{"$dates": 1}'},
        {"b_id": 1, "a_created_at": datetime(2026, 12, 6, 9, 31), "p_any": True, "a_label": None},
    ]
    assert decode(encode("c0ffee", rows)) == ("c0ffee", rows)


async def test_a_copy_stored_late_under_a_purged_mark_is_never_used(
    database: Database, clean_redis: str
) -> None:
    """Uninstalled: the workspace's keys are purged, its mark with them. A reader that read the
    old mark and the installed state before the uninstall, and stores its copy after the purge,
    must not bring the workspace back."""
    from bot.store.purge import purge_tenant

    key = new_key()
    await seeded(database, key)
    redis = aioredis.Redis.from_url(clean_redis)
    shared = SharedWorkspaces(redis, TokenCipher(key).fingerprint)
    states = Replica(database, redis, key).workspaces.states

    async def read_across_an_uninstall(tenant: str) -> list[dict[str, Any]]:
        rows = await states.rows(tenant)  # still installed
        await SealedInstallationStore(database, "1234.5678", TokenCipher(key)).async_delete_all(
            enterprise_id=None, team_id=tenant
        )
        await Announcements(redis).publish(tenant)
        assert await purge_tenant(redis, tenant) >= 1
        return rows

    late = await shared.rows("T0ACME", read_across_an_uninstall)
    assert states.state_from("T0ACME", late).bot is not None  # what that reader saw
    replica = Replica(database, redis, key)
    assert await replica.workspaces.bot("T0ACME") is None
    assert replica.reads == ["T0ACME"]
    await redis.aclose()
