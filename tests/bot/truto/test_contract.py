"""The unified API's contract, field by field: the exact PATCH body of each of the 25 body fields
(and of clearing them), string enums, ids behind keys, and required query parameters taken from
the ticket, on the Jira-like and the Azure-DevOps-like sandbox profiles."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import pytest
from pydantic import SecretStr

from bot.domain.accounts import Account, Permissions
from bot.domain.actors import Actor
from bot.domain.commands import UpdateCommand
from bot.domain.errors import UserInputError
from bot.ops.config import AppConfig, Settings
from bot.sandbox import SANDBOX_TOKEN, SandboxServer
from bot.service.lookups import Lookups
from bot.service.snapshots import Snapshots
from bot.service.tickets import TicketService
from bot.store.cache import Cache, MemoryBackend
from bot.truto.client import TrutoClient
from bot.truto.discovery import Discovery
from tests.conftest import DIRECTORY, JIRA, StaticDirectory

ANA = Actor(slack_user_id="U0ANA", name="ana")
TODAY = date(2026, 11, 27)
OPEN_JIRA = JIRA.model_copy(update={"permissions": Permissions(locked_fields=())})
AZURE = Account(name="azure", integrated_account_id="sandbox-azure", tool="Azure DevOps")


@pytest.fixture
async def contract(sandbox: SandboxServer) -> Any:
    settings = Settings(truto_base_url=sandbox.base_url, truto_api_token=SANDBOX_TOKEN)
    config = AppConfig(
        settings=settings,
        accounts={"jira": OPEN_JIRA, "azure": AZURE},
        channels={"CJIRA": "jira", "CAZURE": "azure"},
        default_account="jira",
    )
    client = TrutoClient(sandbox.base_url, SecretStr(SANDBOX_TOKEN), timeout=2.0)
    cache = Cache(MemoryBackend())
    service = TicketService(
        config,
        client,
        Lookups(client, cache),
        Snapshots(cache),
        StaticDirectory(DIRECTORY),
        discovery=Discovery(client, cache),
    )
    yield service
    await client.aclose()


async def run(service: TicketService, text: str, channel: str = "CJIRA") -> Any:
    command = service.parse(text, channel, today=TODAY)
    assert isinstance(command, UpdateCommand)
    return await service.apply(command, ANA, channel, idempotency_key=uuid.uuid4().hex)


# (command on the Jira-like account, exact body) — one row per body field, then clears.
JIRA_ROWS: list[tuple[str, dict[str, Any]]] = [
    ('PROJ-42 title="Payment page times out"', {"name": "Payment page times out"}),
    ('PROJ-42 desc="Steps:\\nopen it"', {"description": "Steps:\nopen it"}),
    ('PROJ-42 html_description="<p>Steps</p>"', {"html_description": "<p>Steps</p>"}),
    ("PROJ-42 number=PROJ-420", {"number": "PROJ-420"}),
    ("PROJ-42 source=email", {"source": {"id": "email"}}),
    ("PROJ-42 status=done", {"status": {"id": "js4", "name": "Done"}}),
    ("PROJ-42 priority=high", {"priority": {"id": "jp2", "name": "High"}}),
    ("PROJ-42 type=bug", {"ticket_type": {"id": "jt1", "name": "Bug"}}),
    ("PROJ-42 team=mobile", {"team": {"id": "jteam2", "name": "Mobile"}}),
    ("PROJ-42 assignee=ana@acme.example", {"assignees": [{"id": "ju0001", "name": "Ana Lima"}]}),
    ("PROJ-42 created_by=carla@acme.example", {"created_by": {"id": "ju0004", "name": "Carla Mendes"}}),
    ("PROJ-42 tags=backend,ux", {"tags": [{"id": "jl1", "name": "backend"}, {"id": "jl5", "name": "ux"}]}),
    ("PROJ-42 collection=OPS", {"collections": [{"id": "jc2", "name": "OPS", "type": "project"}]}),
    ("PROJ-42 parent=PROJ-1", {"parent_ticket": {"id": "PROJ-1"}}),
    ("PROJ-42 contact=c-77", {"contact": {"id": "c-77"}}),
    ("PROJ-42 account=org-5", {"account": {"id": "org-5"}}),
    ("PROJ-42 due=2026-12-24", {"due_date": "2026-12-24"}),
    ("PROJ-42 completed_at=2026-12-01T10:00Z", {"completed_at": "2026-12-01T10:00:00Z"}),
    ("PROJ-42 created_at=2026-10-01", {"created_at": "2026-10-01"}),
    ("PROJ-42 updated_at=2026-11-21T09:00Z", {"updated_at": "2026-11-21T09:00:00Z"}),
    ("PROJ-42 languages=en,pt", {"languages": ["en", "pt"]}),
    ("PROJ-42 cf.story_points=8", {"custom_fields": {"story_points": 8}}),
    (
        """PROJ-42 items='{"lines": [{"type": "text", "value": "hi"}]}'""",
        {"items": {"lines": [{"type": "text", "value": "hi"}]}},
    ),
    ("""PROJ-42 remote_data='{"customfield_10010": 5}'""", {"remote_data": {"customfield_10010": 5}}),
    # Clearing: a list is emptied, a single value becomes null, from every surface.
    ("PROJ-42 tags=", {"tags": []}),
    ("PROJ-42 assignees=none", {"assignees": []}),
    ("PROJ-42 due=none", {"due_date": None}),
    ("PROJ-42 parent=none", {"parent_ticket": None}),
    ("PROJ-42 team=none", {"team": None}),
]


@pytest.mark.parametrize(("text", "body"), JIRA_ROWS, ids=[row[0].split()[1][:24] for row in JIRA_ROWS])
async def test_each_body_field_goes_out_in_the_documented_shape(
    contract: TicketService, sandbox: SandboxServer, text: str, body: dict[str, Any]
) -> None:
    # Values to clear (an update that changes nothing sends nothing).
    ticket = sandbox.state.profiles["sandbox-jira"].tickets["PROJ-42"]
    ticket.update(due_date="2026-12-01", parent_ticket={"id": "PROJ-1", "name": "Ticket 1"})
    await run(contract, text)
    [patch] = sandbox.state.calls("PATCH")
    assert patch.body == body
    assert patch.query == [("integrated_account_id", "sandbox-jira")]


async def test_the_workspace_field_on_a_tool_that_has_workspaces(
    contract: TicketService, sandbox: SandboxServer
) -> None:
    await run(contract, 'AZ-4 workspace="acme labs"', "CAZURE")
    [patch] = sandbox.state.calls("PATCH")
    assert patch.body == {"workspace": "aw2"}  # the seed's example sends the workspace's id
    assert sandbox.state.profiles["sandbox-azure"].tickets["4204"]["workspace"]["name"] == "Acme Labs"


async def test_the_workspace_as_an_object_where_the_schema_types_it_so(
    contract: TicketService, sandbox: SandboxServer
) -> None:
    sandbox.state.profiles["sandbox-azure"].shapes["workspace"] = {"type": "object"}
    await run(contract, 'AZ-4 workspace="acme labs"', "CAZURE")
    [patch] = sandbox.state.calls("PATCH")
    assert patch.body == {"workspace": {"id": "aw2", "name": "Acme Labs"}}


async def test_items_go_as_an_object_unless_the_schema_says_array(
    contract: TicketService, sandbox: SandboxServer
) -> None:
    with pytest.raises(UserInputError, match=r"items: Jira takes items as a JSON object, like items='\{"):
        await run(contract, """PROJ-42 items='[{"value": "hi"}]'""")
    assert sandbox.state.calls("PATCH") == []
    sandbox.state.profiles["sandbox-jira"].shapes["items"] = {"type": "array"}
    await contract.discovery.refresh(OPEN_JIRA)
    await run(contract, """PROJ-42 items='[{"value": "hi"}]'""")
    [patch] = sandbox.state.calls("PATCH")
    assert patch.body == {"items": [{"value": "hi"}]}


async def test_a_ticket_read_with_rich_references_is_kept_and_updated(
    contract: TicketService, sandbox: SandboxServer
) -> None:
    # The response model is tolerant: assignees with emails and phones, a tag with a name only,
    # a workspace as a string id, as tools answer them.
    ticket = sandbox.state.profiles["sandbox-jira"].tickets["PROJ-42"]
    ticket["assignees"] = [
        {
            "id": "ju0003",
            "name": "Bruno Costa",
            "first_name": "Bruno",
            "emails": [{"email": "bruno@acme.example", "type": "work"}],
            "phones": [{"phone": "+351 000", "type": "mobile"}],
        }
    ]
    ticket["tags"] = [{"name": "frontend"}]
    ticket["workspace"] = "jws1"
    await run(contract, "PROJ-42 tags+=backend")
    [patch] = sandbox.state.calls("PATCH")
    assert patch.body["tags"][-1] == {"id": "jl1", "name": "backend"}


def test_every_body_field_has_a_row() -> None:
    from bot.domain.models import TicketUpdate

    covered = {key for _, body in JIRA_ROWS for key in body} | {"workspace"}
    assert covered == set(TicketUpdate.model_fields)
    assert len(covered) == 25


async def test_string_enums_ids_behind_keys_and_query_from_the_ticket(
    contract: TicketService, sandbox: SandboxServer
) -> None:
    await run(contract, "AZ-4 status=Resolved type=milestone", "CAZURE")
    [get, *_, patch] = [c for c in sandbox.state.calls() if "/tickets/" in c.path and "/meta/" not in c.path]
    assert get.path.endswith("/tickets/AZ-4")  # read by its key
    assert patch.path == "/unified/ticketing/tickets/4204"  # written by its id
    assert patch.body == {"status": "resolved", "ticket_type": "milestone"}
    assert dict(patch.query) == {
        "integrated_account_id": "sandbox-azure",
        "collection_id": "ac1",  # the ticket's project
        "etag": 'W/"4"',  # the ticket's version, as read just now
    }


async def test_the_version_is_read_fresh_for_each_update(
    contract: TicketService, sandbox: SandboxServer
) -> None:
    await run(contract, "AZ-4 status=active", "CAZURE")
    await run(contract, "AZ-4 status=closed", "CAZURE")
    first, second = sandbox.state.calls("PATCH")
    assert (dict(first.query)["etag"], dict(second.query)["etag"]) == ('W/"4"', 'W/"5"')
    assert sandbox.state.patches_applied == 2


async def test_a_word_outside_the_enum_is_refused_with_the_accepted_ones(
    contract: TicketService, sandbox: SandboxServer
) -> None:
    with pytest.raises(UserInputError, match="use one of: open, active, resolved, closed"):
        await run(contract, "AZ-4 status=done", "CAZURE")
    assert sandbox.state.calls("PATCH") == []


async def test_a_parent_key_goes_out_as_the_parents_id(
    contract: TicketService, sandbox: SandboxServer
) -> None:
    await run(contract, "AZ-4 parent=AZ-2", "CAZURE")
    [patch] = sandbox.state.calls("PATCH")
    assert patch.body == {"parent_ticket": {"id": "4202"}}


async def test_parent_and_collections_together_are_refused(
    contract: TicketService, sandbox: SandboxServer
) -> None:
    with pytest.raises(UserInputError, match="either parent or collections"):
        await run(contract, "AZ-4 parent=AZ-2 collection=API", "CAZURE")
    assert sandbox.state.calls("PATCH") == []


async def test_collection_types_are_kept(contract: TicketService, sandbox: SandboxServer) -> None:
    await run(contract, "AZ-4 collections+=API", "CAZURE")
    [patch] = sandbox.state.calls("PATCH")
    assert patch.body == {
        "collections": [
            {"id": "ac1", "name": "Payments", "type": "product"},
            {"id": "ac2", "name": "API", "type": "component"},
        ]
    }


async def test_remote_data_is_locked_unless_an_admin_unlocks_it(
    sandbox: SandboxServer, service: TicketService
) -> None:
    with pytest.raises(UserInputError, match="Remote data is locked in the ticketbot configuration"):
        await run(service, """PROJ-42 remote_data='{"x": 1}'""")
    assert sandbox.state.calls("PATCH") == []


@pytest.mark.parametrize("text", ["PROJ-42 title=", "PROJ-42 title=none", 'PROJ-42 title=""'])
async def test_the_title_cannot_be_emptied(
    contract: TicketService, sandbox: SandboxServer, text: str
) -> None:
    with pytest.raises(UserInputError, match=r"^A ticket needs a title\.$"):
        await run(contract, text)
    assert sandbox.state.calls("PATCH") == []
