"""Every per-account and per-workspace structure kept in a process is bounded: filled past its
bound, it keeps the most recently used and drops the rest (read again when asked)."""

from __future__ import annotations

from bot.domain.accounts import Account
from bot.sandbox import SandboxServer
from bot.service.lookups import Lookups
from bot.store.cache import Cache
from bot.truto.client import TrutoClient
from bot.truto.discovery import Discovery
from tests.conftest import JIRA, LINEAR

OTHER_JIRA = Account(name="jira-2", integrated_account_id="sandbox-jira-2", tool="Jira")


async def test_parsed_lists_kept_in_the_process_are_bounded(
    client: TrutoClient, sandbox: SandboxServer, cache: Cache
) -> None:
    lookups = Lookups(client, cache, kept=2)
    for account in (JIRA, LINEAR, JIRA):
        await lookups.get(account, "ticket_status")
    await lookups.get(LINEAR, "ticket_priorities")  # a third list: the least recently used goes
    assert len(lookups._local) == 2
    assert sorted(k.rsplit(":", 1)[1] for k in lookups._local) == ["ticket_priorities", "ticket_status"]
    assert await lookups.get(LINEAR, "ticket_status")  # dropped here, still in the shared cache
    assert len(sandbox.state.calls("GET", "/ticket_status")) == 2  # one per account, never again


async def test_capabilities_kept_for_the_parser_are_bounded(
    client: TrutoClient, sandbox: SandboxServer, cache: Cache
) -> None:
    discovery = Discovery(client, cache, kept=2)
    for account in (JIRA, LINEAR):
        await discovery.abilities(account)
    assert set(discovery.last) == {"sandbox-jira", "sandbox-linear"}
    discovery.last.get("sandbox-jira")  # used: kept over Linear
    sandbox.state.profiles.setdefault("sandbox-jira-2", sandbox.state.profiles["sandbox-jira"])
    await discovery.abilities(OTHER_JIRA)
    assert set(discovery.last) == {"sandbox-jira", "sandbox-jira-2"}
