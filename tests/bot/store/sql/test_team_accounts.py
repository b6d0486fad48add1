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
