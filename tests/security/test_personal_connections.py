"""People's own connections cannot be borrowed: the link token names the workspace and the person
(from a signed Slack request), a signed account event attaches only to the person and workspace
its tenant names, and an unsigned or forged one does nothing at all."""

from __future__ import annotations

import json
import time
from pathlib import Path

from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from tests.fleet import ACME, GLOBEX, fleet, forward_account_events, install
from tests.scenarios.conftest import Harness, harness_config
from tests.scenarios.payloads import sign_truto
from tests.scenarios.test_personal_connections import acme_with_jira, connect_own
from tests.scenarios.test_personal_single import TEAM, with_own_accounts

__all__ = ["fleet"]  # the fixture


async def test_a_forged_or_unsigned_account_event_attaches_nothing(fleet: Harness) -> None:
    shared = await acme_with_jira(fleet)
    store = fleet.bot.deps.personal
    assert store is not None
    record = fleet.sandbox.state.profiles[shared].account_record()
    forged = {
        "id": "evt_forged",
        "event": "integrated_account:active",
        "payload": {**record, "id": shared, "tenant_id": f"{ACME}:U0EVIL"},  # the team's own account
        "created_at": "2026-12-06 10:00:00",
    }
    body = json.dumps(forged).encode()
    response = await fleet.truto_event(body, {"X-Truto-Signature": "format=sha256,v=" + "0" * 64})
    assert response.status_code == 401
    assert await store.of_person(ACME, "U0EVIL") == []
    # Signed (as if the secret leaked): the workspace's own shared account is not a person's.
    forged["id"] = "evt_forged_2"
    forged["created_at"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
    body = json.dumps(forged).encode()
    answer = await fleet.truto_event(body, sign_truto(body))
    assert answer.text == "ignored: a workspace's own account is nobody's personal one"
    assert await store.of_person(ACME, "U0EVIL") == []


async def test_a_persons_account_stays_in_their_workspace(fleet: Harness) -> None:
    await acme_with_jira(fleet)
    await install(fleet, GLOBEX)
    store = fleet.bot.deps.personal
    assert store is not None
    mine, _ = await connect_own(fleet, "U0ANA", "ana")
    profile = fleet.sandbox.state.profiles[mine]
    for tenant in (f"{GLOBEX}:U0ANA", f"{ACME}:not-a-user", f"{ACME}:U0BRUNO:extra"):
        profile.tenant_id = tenant
        fleet.sandbox.state.webhooks.emit_account("integrated_account:active", profile.account_record())
        [verdict] = await forward_account_events(fleet)
        assert verdict.startswith("integrated_account:active=ignored"), verdict
    assert await store.of_person(GLOBEX, "U0ANA") == [] and await store.of_person(ACME, "U0BRUNO") == []
    assert [c.integrated_account_id for c in await store.of_person(ACME, "U0ANA")] == [mine]


async def test_one_workspace_an_unsigned_or_foreign_account_event_attaches_nothing(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str, tmp_path: Path
) -> None:
    """Single-workspace mode: the same route takes people's account events; an unsigned one, or
    one naming another team than the installation's (auth.test), does nothing at all."""
    config = harness_config(sandbox, fake_slack, clean_redis, ticketbot_data_dir=tmp_path)
    async with with_own_accounts(config, sandbox, fake_slack) as harness:
        store = harness.bot.deps.personal
        assert store is not None
        record = {
            "id": "ia-evil",
            "tenant_id": f"{TEAM}:U0EVIL",
            "integration": {"name": "jira"},
            "status": "active",
        }
        event = {"id": "evt_1", "event": "integrated_account:active", "payload": record}
        event["created_at"] = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime())
        body = json.dumps(event).encode()
        unsigned = await harness.truto_event(body, {"X-Truto-Signature": "format=sha256,v=" + "0" * 64})
        assert unsigned.status_code == 401 and await store.of_person(TEAM, "U0EVIL") == []
        elsewhere = json.dumps({**event, "id": "evt_2", "payload": {**record, "tenant_id": "T0OTHER:U0EVIL"}})
        answer = await harness.truto_event(elsewhere.encode(), sign_truto(elsewhere.encode()))
        assert answer.text == "ignored: not installed" and await store.of_person("T0OTHER", "U0EVIL") == []
        assert harness.sandbox.state.calls("GET") == []  # not even the shared account's capabilities
