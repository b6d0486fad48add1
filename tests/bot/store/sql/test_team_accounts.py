from __future__ import annotations

from bot.domain.tenants import Connection
from bot.domain.workspace_settings import WorkspaceSettings
from bot.store.sql.database import Database
from bot.store.sql.settings_store import SettingsStore
from bot.store.sql.team_accounts import TeamAccounts


async def test_connections_are_kept_per_tenant_oldest_first(database: Database) -> None:
    accounts = TeamAccounts(database)
    assert await accounts.save(Connection("T0ACME", "ia-jira", "jira", "Jira", connected_by="U0ANA"))
    assert await accounts.save(Connection("T0ACME", "ia-linear", "linear", "Linear"))
    assert await accounts.save(Connection("T0GLOBEX", "ia-globex", "asana", "Asana"))
    acme = await accounts.of_tenant("T0ACME")
    assert [(c.integrated_account_id, c.tool, c.connected_by) for c in acme] == [
        ("ia-jira", "Jira", "U0ANA"),
        ("ia-linear", "Linear", None),
    ]
    # Seen again (a reconnect): updated in place, who connected it kept.
    assert not await accounts.save(Connection("T0ACME", "ia-jira", "jira", "Jira Cloud"))
    again = await accounts.by_account("ia-jira")
    assert again is not None and again.label == "Jira Cloud" and again.connected_by == "U0ANA"


async def test_an_account_of_another_tenant_is_not_taken_over(database: Database) -> None:
    accounts = TeamAccounts(database)
    await accounts.save(Connection("T0ACME", "ia-jira", "jira", "Jira"))
    assert not await accounts.save(Connection("T0EVIL", "ia-jira", "jira", "Jira"))
    owner = await accounts.by_account("ia-jira")
    assert owner is not None and owner.tenant_id == "T0ACME"
    assert await accounts.of_tenant("T0EVIL") == []


async def test_status_removal_and_a_tenant_forgotten(database: Database) -> None:
    accounts = TeamAccounts(database)
    await accounts.save(Connection("T0ACME", "ia-jira", "jira", "Jira"))
    await accounts.save(Connection("T0ACME", "ia-linear", "linear", "Linear"))
    await accounts.save(Connection("T0GLOBEX", "ia-globex", "asana", "Asana"))
    await accounts.set_status("ia-jira", "authentication_error", "token expired")
    jira = await accounts.by_account("ia-jira")
    assert jira is not None and not jira.active and jira.last_error == "token expired"
    await accounts.remove("ia-linear")
    assert [c.integrated_account_id for c in await accounts.of_tenant("T0ACME")] == ["ia-jira"]
    assert await accounts.remove_tenant("T0ACME") == ["ia-jira"]
    assert await accounts.of_tenant("T0ACME") == []
    assert [c.integrated_account_id for c in await accounts.of_tenant("T0GLOBEX")] == ["ia-globex"]


async def test_settings_are_stored_per_tenant(database: Database) -> None:
    store = SettingsStore(database)
    assert await store.get("T0ACME") == WorkspaceSettings()
    chosen = WorkspaceSettings(channels={"C0OPS": "ia-jira"}, users=("U0ANA",), channel_card="full")
    await store.save("T0ACME", chosen, "U0ADMIN")
    await store.save("T0ACME", chosen.model_copy(update={"channel_card": "none"}), "U0ADMIN")
    assert await store.get("T0ACME") == chosen.model_copy(update={"channel_card": "none"})
    assert await store.get("T0GLOBEX") == WorkspaceSettings()
    await store.remove("T0ACME")
    assert await store.get("T0ACME") == WorkspaceSettings()


async def test_a_workspace_is_read_once_however_many_ask_and_served_while_read_again(
    database: Database,
) -> None:
    import asyncio

    from bot.ops.config import AppConfig, Settings
    from bot.service.workspaces import Workspaces
    from bot.store.sql.cipher import TokenCipher, new_key
    from bot.store.sql.installations import SealedInstallationStore
    from tests.bot.store.sql.test_installations import installation

    store = SealedInstallationStore(database, "1234.5678", TokenCipher(new_key()))
    await store.async_save(installation("T0ACME"))
    reads: list[str] = []
    config = AppConfig(settings=Settings(), accounts={}, channels={}, default_account=None)
    workspaces = Workspaces(
        config, store, TeamAccounts(database), SettingsStore(database), cache_seconds=0.05
    )
    found = workspaces.states.read

    async def counted(tenant: str):  # type: ignore[no-untyped-def]
        reads.append(tenant)
        return await found(tenant)

    workspaces.states.read = counted  # type: ignore[method-assign]
    bots = await asyncio.gather(*(workspaces.bot("T0ACME") for _ in range(10)))
    assert all(b is not None for b in bots) and reads == ["T0ACME"]  # ten asked, one read
    await asyncio.sleep(0.06)  # past its time: still served, one read behind it
    assert await workspaces.bot("T0ACME") is not None
    await asyncio.sleep(0.01)
    assert reads == ["T0ACME", "T0ACME"]
    workspaces.forget("T0ACME")  # an announced change: the next ask waits for a fresh read
    await store.async_delete_all(enterprise_id=None, team_id="T0ACME")
    assert await workspaces.bot("T0ACME") is None


async def test_a_workspace_is_kept_while_announcements_are_heard(
    database: Database, clean_redis: str
) -> None:
    """Heard: kept past the short expiry until a change is announced (on any replica); not
    heard (the subscription lost): the short expiry again."""
    import asyncio

    import redis.asyncio as aioredis

    from bot.ops.config import AppConfig, Settings
    from bot.service.workspaces import Workspaces
    from bot.store.announcements import Announcements
    from bot.store.sql.cipher import TokenCipher, new_key
    from bot.store.sql.installations import SealedInstallationStore
    from tests.bot.store.sql.test_installations import installation

    store = SealedInstallationStore(database, "1234.5678", TokenCipher(new_key()))
    await store.async_save(installation("T0ACME"))
    config = AppConfig(settings=Settings(), accounts={}, channels={}, default_account=None)
    redis = aioredis.Redis.from_url(clean_redis)

    def replica() -> Workspaces:
        return Workspaces(
            config,
            store,
            TeamAccounts(database),
            SettingsStore(database),
            Announcements(redis),
            cache_seconds=0.05,
        )

    here, there = replica(), replica()
    reads: list[str] = []
    found = here.states.read

    async def counted(tenant: str):  # type: ignore[no-untyped-def]
        reads.append(tenant)
        return await found(tenant)

    here.states.read = counted  # type: ignore[method-assign]
    ready = asyncio.Event()
    listening = asyncio.create_task(here.listen(ready))
    await asyncio.wait_for(ready.wait(), 5)
    await here.bot("T0ACME")
    await asyncio.sleep(0.2)  # four times the short expiry
    await here.bot("T0ACME")
    assert reads == ["T0ACME"]  # kept: nothing was announced

    await there.changed("T0ACME")  # another replica saved a change
    for _ in range(100):
        if "T0ACME" not in here._kept:
            break
        await asyncio.sleep(0.01)
    await here.bot("T0ACME")
    assert reads == ["T0ACME", "T0ACME"]

    listening.cancel()  # not hearing any more: a change could go unheard
    await asyncio.gather(listening, return_exceptions=True)
    await asyncio.sleep(0.12)
    await here.bot("T0ACME")  # past the short expiry and its stale window: read again
    assert reads == ["T0ACME", "T0ACME", "T0ACME"]
    await redis.aclose()


async def test_an_install_is_heard_by_every_replica_that_kept_not_installed(
    database: Database, clean_redis: str
) -> None:
    """Kept while announcements are heard, "not installed" must not outlive an install (or a
    reinstall after an uninstall): saving an installation announces its tenant."""
    import asyncio

    import redis.asyncio as aioredis

    from bot.ops.config import AppConfig, Settings
    from bot.service.workspaces import Workspaces
    from bot.store.announcements import Announcements
    from bot.store.sql.cipher import TokenCipher, new_key
    from bot.store.sql.installations import SealedInstallationStore
    from tests.bot.store.sql.test_installations import installation

    key = new_key()
    config = AppConfig(settings=Settings(), accounts={}, channels={}, default_account=None)
    redis = aioredis.Redis.from_url(clean_redis)

    def replica() -> Workspaces:
        store = SealedInstallationStore(database, "1234.5678", TokenCipher(key))
        workspaces = Workspaces(
            config,
            store,
            TeamAccounts(database),
            SettingsStore(database),
            Announcements(redis),
            cache_seconds=0.05,
        )
        store.saved = workspaces.changed
        return workspaces

    installing, serving = replica(), replica()
    ready = asyncio.Event()
    listening = asyncio.create_task(serving.listen(ready))
    await asyncio.wait_for(ready.wait(), 5)
    assert await serving.bot("T0ACME") is None  # asked before the install: kept as not installed
    await asyncio.sleep(0.15)  # past the short expiry: still kept while heard
    await installing.installations.async_save(installation("T0ACME"))  # the OAuth flow's save
    for _ in range(100):
        if "T0ACME" not in serving._kept:
            break
        await asyncio.sleep(0.01)
    assert await serving.bot("T0ACME") is not None
    listening.cancel()
    await asyncio.gather(listening, return_exceptions=True)
    await redis.aclose()


async def test_a_request_that_goes_away_mid_read_leaves_the_read_to_the_next(database: Database) -> None:
    """The first request for a workspace reads it itself; cancelled mid-read (its client went
    away), whoever waited for that read reads instead, and gets the workspace."""
    import asyncio

    from bot.ops.config import AppConfig, Settings
    from bot.service.workspaces import Workspaces
    from bot.store.sql.cipher import TokenCipher, new_key
    from bot.store.sql.installations import SealedInstallationStore
    from tests.bot.store.sql.test_installations import installation

    store = SealedInstallationStore(database, "1234.5678", TokenCipher(new_key()))
    await store.async_save(installation("T0ACME"))
    config = AppConfig(settings=Settings(), accounts={}, channels={}, default_account=None)
    workspaces = Workspaces(config, store, TeamAccounts(database), SettingsStore(database))
    found = workspaces.states.read
    gate = asyncio.Event()
    reads: list[str] = []

    async def slow_first(tenant: str):  # type: ignore[no-untyped-def]
        reads.append(tenant)
        if len(reads) == 1:
            await gate.wait()  # the first read hangs until its request is cancelled
        return await found(tenant)

    workspaces.states.read = slow_first  # type: ignore[method-assign]
    first = asyncio.ensure_future(workspaces.bot("T0ACME"))
    await asyncio.sleep(0.01)
    second = asyncio.ensure_future(workspaces.bot("T0ACME"))  # waits for the first's read
    await asyncio.sleep(0.01)
    assert reads == ["T0ACME"]
    first.cancel()
    bot = await asyncio.wait_for(second, 5)
    assert bot is not None and bot.team_id == "T0ACME" and reads == ["T0ACME", "T0ACME"]
    assert first.cancelled()
