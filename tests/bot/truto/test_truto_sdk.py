"""Truto's own Python SDK (`truto-python-sdk`, a client nobody here wrote) against the sandbox,
and the bot's client making the same calls: both must agree, so a guess the bot and the sandbox
share cannot hide. `.ci/run` installs the SDK (dev only; see there why without its metadata's
Python pin); elsewhere this module is skipped."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.models import Ref, TicketUpdate, UpdateQuery
from bot.sandbox import SANDBOX_TOKEN, SandboxServer
from bot.truto.client import TrutoClient
from tests.conftest import JIRA

sdk = pytest.importorskip(
    "truto_python_sdk",
    reason="truto-python-sdk is not installed (.ci/run installs it: pip install --no-deps "
    "--ignore-requires-python truto-python-sdk)",
)

JIRA_Q = {"integrated_account_id": "sandbox-jira"}


@pytest.fixture
def truto(sandbox: SandboxServer) -> Any:
    return sdk.TrutoApi(SANDBOX_TOKEN, base_url=sandbox.base_url)


async def test_list_pages_through_to_array_like_the_bots_client(
    truto: Any, client: TrutoClient, sandbox: SandboxServer
) -> None:
    theirs = await truto.unified_api.list("ticketing", "users", {**JIRA_Q, "limit": 100}).to_array()
    ours = [user async for user in client.list_all(JIRA, "users", limit=100)]
    assert len(theirs) == 320
    assert [u["id"] for u in theirs] == [u["id"] for u in ours]
    pages = sandbox.state.calls("GET", "/unified/ticketing/users")
    assert len(pages) == 2 * 4  # four pages of 100 each, for each client
    sdk_second = dict(pages[1].query)
    assert sdk_second["limit"] == "100" and sdk_second["next_cursor"]


async def test_get_agrees_with_the_bots_client(truto: Any, client: TrutoClient) -> None:
    theirs = await truto.unified_api.get(
        "ticketing", "tickets", "PROJ-42", {**JIRA_Q, "truto_ignore_remote_data": True}
    )
    ours = await client.get_ticket(JIRA, "PROJ-42")
    assert theirs["name"] == ours.name == "Login fails with SSO"
    assert theirs["status"] == {"id": "js1", "name": "To Do"}
    assert ours.to_json() == {k: v for k, v in theirs.items() if v is not None}


async def test_update_with_query_encoding_as_the_sdk_does_it(
    truto: Any, client: TrutoClient, sandbox: SandboxServer
) -> None:
    body = {"priority": {"id": "jp2", "name": "High"}}
    query = {**JIRA_Q, "truto_exclude_fields": ["remote_data", "description"], "remote_query": {"foo": "bar"}}
    theirs = await truto.unified_api.update("ticketing", "tickets", "PROJ-42", body, query)
    ours = await client.update_ticket(
        "PROJ-41",
        TicketUpdate(priority=Ref(id="jp2", name="High")),
        UpdateQuery.model_validate(query),
    )
    assert theirs["priority"] == {"id": "jp2", "name": "High"} and ours.priority_name == "High"
    assert "remote_data" not in theirs and "description" not in theirs  # truto_exclude_fields[] read
    sdk_patch, bot_patch = sandbox.state.calls("PATCH")
    assert sdk_patch.body == bot_patch.body == body
    assert (
        sorted(sdk_patch.query)
        == sorted(bot_patch.query)
        == sorted(
            [
                ("integrated_account_id", "sandbox-jira"),
                ("truto_exclude_fields[]", "remote_data"),
                ("truto_exclude_fields[]", "description"),
                ("remote_query[foo]", "bar"),
            ]
        )
    )


async def test_webhooks_through_the_sdk_and_the_bots_client(
    truto: Any, client: TrutoClient, sandbox: SandboxServer
) -> None:
    created = await truto.webhooks.create(
        {"target_url": "https://bot.example/truto/webhooks", "event_types": ["record:updated"]}
    )
    assert len(created["secret"]) == 64
    theirs = await truto.webhooks.list().to_array()
    ours = await client.list_webhooks()
    assert theirs == ours and "secret" not in theirs[0]
    got = await truto.webhooks.get(created["id"])
    assert got["target_url"] == "https://bot.example/truto/webhooks" and "secret" not in got
    updated = await truto.webhooks.update(
        created["id"], {"event_types": ["record:updated", "record:deleted"]}
    )
    assert updated["event_types"] == ["record:updated", "record:deleted"]
    assert await truto.webhooks.delete(created["id"]) == {"id": created["id"]}
    assert await client.list_webhooks() == []


async def test_integrated_accounts_through_the_sdk(truto: Any) -> None:
    account = await truto.integrated_accounts.get("sandbox-linear")
    assert account["status"] == "active" and account["integration"]["config"]["label"] == "Linear"
    everyone = await truto.integrated_accounts.list().to_array()
    assert [a["id"] for a in everyone] == ["sandbox-jira", "sandbox-linear", "sandbox-azure"]


async def test_create_and_delete_agree_with_the_bots_client(
    truto: Any, client: TrutoClient, sandbox: SandboxServer
) -> None:
    """Truto's "Create Tickets" and "Delete Tickets" through the SDK and the bot's client: the
    same POST body and path, the same unified ticket back, and the ticket gone after DELETE."""
    body = {
        "name": "Made by the SDK",
        "collections": [{"id": "jc1"}],
        "ticket_type": {"id": "jt2"},
        "custom_fields": {"severity": "minor"},
    }
    theirs = await truto.unified_api.create("ticketing", "tickets", body, JIRA_Q)
    ours = await client.create_ticket(JIRA, {**body, "name": "Made by the bot"}, [], idempotency_key="k-1")
    assert (theirs["id"], ours.id) == ("PROJ-61", "PROJ-62")
    assert theirs["ticket_type"] == {"id": "jt2", "name": "Task"} and ours.type_name == "Task"
    sdk_post, bot_post = sandbox.state.calls("POST", "/unified/ticketing/tickets")
    assert sdk_post.path == bot_post.path == "/unified/ticketing/tickets"
    assert sdk_post.body == body and bot_post.body == {**body, "name": "Made by the bot"}
    assert dict(bot_post.query)["integrated_account_id"] == "sandbox-jira"
    await truto.unified_api.delete("ticketing", "tickets", "PROJ-61", JIRA_Q)
    await client.delete_ticket(JIRA, "PROJ-62")
    tickets = sandbox.state.profiles["sandbox-jira"].tickets
    assert "PROJ-61" not in tickets and "PROJ-62" not in tickets
    assert [c.path for c in sandbox.state.calls("DELETE")] == [
        "/unified/ticketing/tickets/PROJ-61",
        "/unified/ticketing/tickets/PROJ-62",
    ]
