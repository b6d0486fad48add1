"""Creating a ticket through the service, against the sandbox: the create meta (never the
update's) decides what is required, names resolve as an update's, a required query parameter
comes from the new ticket's own body or the account's `query.create`, nothing is sent on any
mistake, and one POST carries the Idempotency-Key."""

from __future__ import annotations

import pytest

from bot.domain.accounts import Account, Permissions
from bot.domain.actors import Actor
from bot.domain.commands import CreateCommand
from bot.domain.errors import NotPermitted, UserInputError
from bot.sandbox import SandboxServer
from bot.service.creating import MissingFields
from bot.service.tickets import TicketService
from tests.conftest import JIRA, JIRA_CHANNEL

ANA = Actor(slack_user_id="U0ANA", name="ana")
AZURE = Account(name="azure", integrated_account_id="sandbox-azure", tool="Azure DevOps")


async def plan(service: TicketService, text: str, account: Account = JIRA):  # type: ignore[no-untyped-def]
    command = service.parse(text, JIRA_CHANNEL, account=account)
    assert isinstance(command, CreateCommand)
    return await service.creator.plan(
        account, ANA, JIRA_CHANNEL, title=command.title, assignments=command.assignments
    )


def posts(sandbox: SandboxServer) -> list[object]:
    return sandbox.state.calls("POST", "/unified/ticketing/tickets")


async def test_what_is_missing_is_named_with_what_it_takes_and_nothing_is_sent(
    service: TicketService, sandbox: SandboxServer
) -> None:
    with pytest.raises(MissingFields) as raised:
        await plan(service, 'create "Search is slow" type=Bug')
    assert [(m.field, m.custom) for m in raised.value.missing] == [
        ("collections", None),
        ("custom_fields", "severity"),
    ]
    assert str(raised.value) == (
        "Jira needs Project and Severity to create a ticket. Project: PROJ, OPS; "
        "Severity: Minor, Major, Critical. Add project=PROJ cf.severity=Minor, or use the form"
    )
    assert posts(sandbox) == []
    metas = [c.path for c in sandbox.state.calls("GET") if "/meta/" in c.path]
    assert metas == ["/unified/ticketing/tickets/meta/create"]  # the create meta alone


async def test_a_complete_create_is_one_post_with_its_key(
    service: TicketService, sandbox: SandboxServer
) -> None:
    from bot.ops.metrics import CREATES

    created_before = CREATES.labels("created")._value.get()
    planned = await plan(
        service, 'create "Search is slow" project=OPS type=Bug cf.severity=minor due=2026-12-24'
    )
    ticket = await service.creator.create(planned, ANA, JIRA_CHANNEL, idempotency_key="key-1")
    assert CREATES.labels("created")._value.get() == created_before + 1
    again = await service.creator.create(planned, ANA, JIRA_CHANNEL, idempotency_key="key-1")
    assert ticket.display_ref == again.display_ref == "OPS-1"
    [first, second] = posts(sandbox)
    assert first.body == {  # type: ignore[attr-defined]
        "name": "Search is slow",
        "collections": [{"id": "jc2", "name": "OPS", "type": "project"}],
        "ticket_type": {"id": "jt1", "name": "Bug"},
        "custom_fields": {"severity": "minor"},
        "due_date": "2026-12-24",
    }
    assert first.headers["idempotency-key"] == second.headers["idempotency-key"] == "key-1"  # type: ignore[attr-defined]
    assert len(sandbox.state.created) == 1


async def test_a_required_query_parameter_comes_from_the_new_tickets_project(
    service: TicketService, sandbox: SandboxServer
) -> None:
    """Azure DevOps' create requires `collection_id`: the project chosen gives it; without one,
    the project is what is missing (not a parameter nobody could type)."""
    service.config = service.config.model_copy(
        update={"accounts": {**service.config.accounts, "azure": AZURE}}
    )
    with pytest.raises(MissingFields) as raised:
        await plan(service, 'create "Rotate keys" type=default_task', AZURE)
    assert [m.field for m in raised.value.missing] == ["collections"]
    planned = await plan(service, 'create "Rotate keys" type=default_task project=Payments', AZURE)
    assert planned.query == (("collection_id", "ac1"),)
    assert planned.body["ticket_type"] == "default_task"  # a word from the schema's enum
    ticket = await service.creator.create(planned, ANA, None, idempotency_key="k")
    assert ticket.display_ref == "AZ-21"
    [sent] = posts(sandbox)
    assert ("collection_id", "ac1") in sent.query  # type: ignore[attr-defined]


async def test_creating_turned_off_or_not_permitted_sends_nothing(
    service: TicketService, sandbox: SandboxServer
) -> None:
    off = JIRA.model_copy(update={"permissions": Permissions(create=False)})
    with pytest.raises(NotPermitted, match="creating Jira tickets from Slack is turned off"):
        await service.creator.check_may_create(off, ANA, JIRA_CHANNEL)
    sandbox.state.profiles["sandbox-jira"].can_create = False
    with pytest.raises(UserInputError, match="can't create tickets"):
        await plan(service, 'create "x" project=PROJ type=Bug cf.severity=minor')
    assert posts(sandbox) == []


async def test_a_lost_answer_is_retried_under_the_same_key_and_makes_one_ticket(
    service: TicketService, sandbox: SandboxServer
) -> None:
    """The POST lands but its answer does not arrive in time (the client's 2 s): the retry
    carries the same Idempotency-Key, so the API answers with the ticket the first try made."""
    planned = await plan(service, 'create "Once" project=PROJ type=Task cf.severity=minor')
    sandbox.state.fail_next(delay=2.5, method="POST", path_contains="/unified/ticketing/tickets")
    ticket = await service.creator.create(planned, ANA, JIRA_CHANNEL, idempotency_key="lost-answer")
    sandbox.state.quiesce()
    tries = posts(sandbox)
    assert len(tries) == 2 and {t.headers["idempotency-key"] for t in tries} == {"lost-answer"}  # type: ignore[attr-defined]
    assert ticket.display_ref == "PROJ-61" and len(sandbox.state.created) == 1
    assert "PROJ-62" not in sandbox.state.profiles["sandbox-jira"].tickets


async def test_a_required_custom_field_is_asked_for_only_where_a_new_ticket_takes_custom_fields(
    service: TicketService, sandbox: SandboxServer
) -> None:
    jira = sandbox.state.profiles["sandbox-jira"]
    jira.unsupported_fields = frozenset({"workspace", "custom_fields"})  # its create meta lacks them
    missing = await service.creator.missing(JIRA, {"ticket_type": True})
    assert [(m.field, m.label) for m in missing] == [("name", "Title"), ("collections", "Project")]
    with pytest.raises(MissingFields, match=r"^Jira needs Title and Project to create a ticket\. "):
        await service.creator.plan(JIRA, ANA, JIRA_CHANNEL, values={"ticket_type": {"id": "jt1"}})
