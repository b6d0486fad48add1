"""The service end to end to the sandbox: exact PATCH bodies, call counts, errors sent nowhere."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from bot.domain.actors import Actor
from bot.domain.commands import UpdateCommand
from bot.domain.errors import NothingToChange, ParseError, UserInputError
from bot.domain.models import Change, Ticket
from bot.sandbox import SandboxServer
from bot.service.tickets import TicketService
from bot.service.updates import changed_since
from tests.conftest import JIRA_CHANNEL, LINEAR_CHANNEL

TODAY = date(2026, 11, 27)  # a Friday
ANA = Actor(slack_user_id="U0ANA", name="ana")


async def run(
    service: TicketService, text: str, channel: str = JIRA_CHANNEL, actor: Actor = ANA, key: str = "test-key"
) -> Any:
    command = service.parse(text, channel, today=TODAY)
    assert isinstance(command, UpdateCommand)
    return await service.apply(command, actor, channel, idempotency_key=key)


def patch_body(sandbox: SandboxServer) -> Any:
    [call] = sandbox.state.calls("PATCH")
    return call.body


@pytest.mark.parametrize(
    ("channel", "text", "body"),
    [
        (
            JIRA_CHANNEL,
            'update PROJ-42 status="In Progress" priority=high assignee=<@U0ANA|ana> tags+=backend due=friday',
            {
                "assignees": [{"id": "ju0001", "name": "Ana Lima"}],
                "status": {"id": "js2", "name": "In Progress"},
                "due_date": "2026-12-04",
                "priority": {"id": "jp2", "name": "High"},
                "tags": [{"id": "jl2", "name": "frontend"}, {"id": "jl1", "name": "backend"}],
            },
        ),
        (JIRA_CHANNEL, "PROJ-42 status=done", {"status": {"id": "js4", "name": "Done"}}),
        (
            JIRA_CHANNEL,
            'PROJ-42 title="Login fails with SSO & SAML" desc="Steps: 1) open 2) fail"',
            {"name": "Login fails with SSO & SAML", "description": "Steps: 1) open 2) fail"},
        ),
        (JIRA_CHANNEL, "PROJ-42 due=none tags=", {"due_date": None, "tags": []}),
        (JIRA_CHANNEL, "PROJ-42 due=+2w", {"due_date": "2026-12-11"}),
        (JIRA_CHANNEL, "PROJ-42 due=2026-12-24T17:00Z", {"due_date": "2026-12-24T17:00:00Z"}),
        (
            JIRA_CHANNEL,
            "PROJ-42 assignees+=me,bruno@acme.example",
            {"assignees": [{"id": "ju0003", "name": "Bruno Costa"}, {"id": "ju0001", "name": "Ana Lima"}]},
        ),
        (JIRA_CHANNEL, "PROJ-42 assignees-=<@U0BRUNO|bruno>", {"assignees": []}),
        (JIRA_CHANNEL, "PROJ-42 tags-=frontend", {"tags": []}),
        (
            JIRA_CHANNEL,
            "PROJ-42 type=story team=plat collection=OPS",
            {
                "ticket_type": {"id": "jt3", "name": "Story"},
                "collections": [{"id": "jc2", "name": "OPS", "type": "project"}],
                "team": {"id": "jteam1", "name": "Platform"},
            },
        ),
        (JIRA_CHANNEL, "PROJ-42 parent=PROJ-1", {"parent_ticket": {"id": "PROJ-1"}}),
        (JIRA_CHANNEL, "PROJ-42 cf.story_points=8", {"custom_fields": {"story_points": 8}}),
        (JIRA_CHANNEL, "PROJ-42 assignee=asouza", {"assignees": [{"id": "ju0002", "name": "Ana Souza"}]}),
        (
            LINEAR_CHANNEL,
            "ENG-7 status=todo assignee=me priority=urg tags+=backend",
            {
                "assignees": [{"id": "lu0001", "name": "Ana Lima"}],
                "status": "Todo",  # this tool's schema takes the status as a string
                "priority": {"id": "lp1", "name": "Urgent"},
                "tags": [{"id": "ll1", "name": "Bug"}, {"id": "ll4", "name": "backend"}],
            },
        ),
        (
            LINEAR_CHANNEL,
            "<https://linear.app/acme/issue/ENG-7/crash|ENG-7> status=Canceled assignees-=diego@acme.example",
            {"assignees": [], "status": "Canceled"},
        ),
    ],
)
async def test_exact_patch_bodies(
    service: TicketService, sandbox: SandboxServer, channel: str, text: str, body: dict[str, Any]
) -> None:
    await run(service, text, channel)
    assert patch_body(sandbox) == body
    [call] = sandbox.state.calls("PATCH")
    if channel == LINEAR_CHANNEL:  # its required workspace_id comes from the ticket
        assert call.query == [("integrated_account_id", "sandbox-linear"), ("workspace_id", "lws1")]
    else:
        assert call.query == [("integrated_account_id", "sandbox-jira")]
    assert call.headers["idempotency-key"] == "test-key"


async def test_result_has_the_patched_ticket_and_changes(
    service: TicketService, sandbox: SandboxServer
) -> None:
    result = await run(service, 'PROJ-42 status="In Progress" priority=high tags+=backend due=friday')
    assert result.ticket.status_name == "In Progress"
    assert result.changes == [
        Change("status", "status", "To Do", "In Progress"),
        Change("priority", "priority", "Medium", "High"),
        Change("tags", "tags", "frontend", "frontend, backend", added=("backend",)),
        Change("due_date", "due date", "—", "2026-12-04"),
    ]
    assert result.idempotency_key == "test-key"
    assert result.account.name == "jira"
    # No GET after the PATCH: the ticket comes from the PATCH answer.
    assert [c.method for c in sandbox.state.calls(path_contains="/tickets/PROJ-42")] == ["GET", "PATCH"]


async def test_a_recently_seen_ticket_costs_only_the_patch(
    service: TicketService, sandbox: SandboxServer
) -> None:
    await run(service, "PROJ-42 status=done priority=low")  # warms lookups and the snapshot
    sandbox.state.requests.clear()
    result = await run(service, "PROJ-42 status=todo priority=high", key="second-key")
    assert [(c.method, c.path) for c in sandbox.state.calls()] == [
        ("PATCH", "/unified/ticketing/tickets/PROJ-42")
    ]
    assert result.changes == [
        Change("status", "status", "Done", "To Do"),
        Change("priority", "priority", "Low", "High"),
    ]


async def test_merges_always_start_from_a_fresh_get(service: TicketService, sandbox: SandboxServer) -> None:
    await run(service, "PROJ-42 status=done")  # the bot now holds a snapshot of PROJ-42
    # Someone tags the ticket in the tool itself; the snapshot does not know.
    sandbox.state.profiles["sandbox-jira"].tickets["PROJ-42"]["tags"].append({"id": "jl3", "name": "infra"})
    sandbox.state.requests.clear()
    await run(service, "PROJ-42 tags+=backend", key="second-key")
    assert [c.method for c in sandbox.state.calls(path_contains="/tickets/PROJ-42")] == ["GET", "PATCH"]
    assert patch_body(sandbox) == {
        "tags": [
            {"id": "jl2", "name": "frontend"},
            {"id": "jl3", "name": "infra"},
            {"id": "jl1", "name": "backend"},
        ]
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("PROJ-42 status=finished", "status: no status matches 'finished'; accepted: To Do, In Progress"),
        ("PROJ-42 priority=urgent", "priority: no priority matches 'urgent'"),
        ("PROJ-42 assignee=ana", "assignee: 'ana' matches several users"),
        (
            "PROJ-42 assignee=<@U0NOBODY|nobody>",
            "assignee: @nobody (nobody@else.example) has no user in the Jira",
        ),
        ("PROJ-42 assignee=<@U0GHOST|ghost>", "assignee: can't tell which ticketing user @ghost is"),
        ("PROJ-42 tags+=nonexistent-tag", "tags: no tag matches 'nonexistent-tag'"),
        ("PROJ-42 tags-=backend", "tags: 'backend' is not on PROJ-42 (now: frontend)"),
        ("PROJ-42 assignees-=ana@acme.example", "assignees: Ana Lima is not on PROJ-42 (now: Bruno Costa)"),
        ("PROJ-42 workspace=main", "Workspace can't be changed in Jira"),
    ],
)
async def test_resolution_errors_send_nothing(
    service: TicketService, sandbox: SandboxServer, text: str, message: str
) -> None:
    with pytest.raises(UserInputError) as caught:
        await run(service, text)
    assert str(caught.value).startswith(message)
    assert sandbox.state.calls("PATCH") == []


async def test_parse_errors_never_reach_the_api(service: TicketService, sandbox: SandboxServer) -> None:
    with pytest.raises(ParseError):
        service.parse("PROJ-42 priorty=high", JIRA_CHANNEL)
    assert sandbox.state.calls() == []


async def test_me_without_a_slack_user_is_explained(service: TicketService, sandbox: SandboxServer) -> None:
    with pytest.raises(
        UserInputError,
        match=r"'me' needs a Slack user; use an email instead \(or, on the command line, --as-email\)",
    ):
        await run(service, "PROJ-42 assignee=me", actor=Actor())
    assert sandbox.state.calls("PATCH") == []


async def test_a_status_without_a_list_goes_as_a_string(
    service: TicketService, sandbox: SandboxServer
) -> None:
    del sandbox.state.profiles["sandbox-jira"].lists["ticket_status"]
    await run(service, "PROJ-42 status=Done")
    assert patch_body(sandbox) == {"status": "Done"}


async def test_unrouted_channel_without_default(service: TicketService, sandbox: SandboxServer) -> None:
    service.config = service.config.model_copy(update={"default_account": None})
    with pytest.raises(UserInputError, match="not connected to a ticketing account"):
        await run(service, "PROJ-42 status=done", channel="CUNKNOWN")
    assert sandbox.state.calls() == []


async def test_dry_run_plan_describes_the_exact_request(
    service: TicketService, sandbox: SandboxServer
) -> None:
    command = service.parse("PROJ-42 status=done", JIRA_CHANNEL, today=TODAY)
    assert isinstance(command, UpdateCommand)
    plan = await service.plan(command, ANA, JIRA_CHANNEL)
    assert plan.describe("http://api.example/") == {
        "method": "PATCH",
        "url": "http://api.example/unified/ticketing/tickets/PROJ-42",
        "query": [("integrated_account_id", "sandbox-jira")],
        "json": {"status": {"id": "js4", "name": "Done"}},
    }
    assert sandbox.state.calls("PATCH") == []


async def test_changes_are_named_as_people_know_the_fields(service: TicketService) -> None:
    result = await run(service, 'PROJ-42 title="Login fails on Safari" type=bug', key="names-key")
    assert [(c.key, c.label, c.heading) for c in result.changes] == [
        ("name", "title", "Title"),
        ("ticket_type", "type", "Type"),
    ]
    assert str(result.changes[0]) == "title Login fails with SSO → Login fails on Safari"
    assert result.undo_expect() == {"name": "Login fails on Safari", "ticket_type": "Bug"}


def test_an_undo_record_keyed_the_old_way_is_still_checked() -> None:
    ticket = Ticket(id="1", name="Renamed since", due_date="2026-12-04")
    old_keys = {"name": "Was set", "due date": "2026-12-04"}
    assert changed_since(ticket, old_keys, [("name", None), ("due_date", None)]) == [
        "title (now Renamed since)"
    ]


async def test_status_cannot_be_cleared_and_nothing_is_sent(
    service: TicketService, sandbox: SandboxServer
) -> None:
    for text in ("PROJ-42 status=none", "PROJ-42 status="):
        with pytest.raises(UserInputError) as caught:
            await run(service, text)
        assert "a ticket always has a status, so it can't be cleared" in str(caught.value)
    assert sandbox.state.calls("PATCH") == []


async def test_a_ticket_cannot_be_its_own_parent(service: TicketService, sandbox: SandboxServer) -> None:
    with pytest.raises(UserInputError) as caught:
        await run(service, "PROJ-3 parent=PROJ-3")
    assert "PROJ-3 can't be its own parent" in str(caught.value)
    assert sandbox.state.calls("PATCH") == []
    await run(service, "PROJ-3 parent=PROJ-4")
    assert patch_body(sandbox) == {"parent_ticket": {"id": "PROJ-4"}}


async def test_the_confirmation_names_the_date_understood(
    service: TicketService, sandbox: SandboxServer
) -> None:
    command = service.parse('PROJ-42 due="next friday"', JIRA_CHANNEL, today=date(2026, 12, 2))
    assert isinstance(command, UpdateCommand)
    result = await service.apply(command, ANA, JIRA_CHANNEL, idempotency_key="next-friday")
    assert patch_body(sandbox) == {"due_date": "2026-12-11"}
    [change] = result.changes
    assert (change.label, change.after) == ("due date", "2026-12-11")


async def test_change_lines_read_as_people_name_things(
    service: TicketService, sandbox: SandboxServer
) -> None:
    """Options by their label, yes/no as Yes/No, list changes as what came and went."""
    result = await run(service, "PROJ-42 cf.severity=major cf.reviewed=yes tags+=backend")
    assert [str(c) for c in result.changes] == ["Severity — → Major", "Reviewed — → Yes", "tags +backend"]
    result = await run(service, "PROJ-42 tags-=frontend", key="second")
    assert [str(c) for c in result.changes] == ["tags −frontend"]


async def test_refusals_name_fields_as_people_do(service: TicketService, sandbox: SandboxServer) -> None:
    with pytest.raises(UserInputError) as caught:
        await run(service, "ENG-7 due=2026-12-24", channel=LINEAR_CHANNEL)
    assert str(caught.value) == "Due date can't be changed in Linear"
    assert sandbox.state.calls("PATCH") == []


async def test_a_user_custom_field_reads_as_the_persons_name(
    service: TicketService, sandbox: SandboxServer
) -> None:
    result = await run(service, "PROJ-42 cf.reviewer=ana@acme.example")
    assert [str(c) for c in result.changes] == ["Reviewer — → Ana Lima"]


async def test_a_later_try_of_an_update_reports_the_change_its_first_try_made(
    service: TicketService, sandbox: SandboxServer
) -> None:
    """A takeover or a Retry sends the PATCH again (replayed under its key) while the snapshot
    already shows the new value: it still says what changed, and its Undo puts back the old one."""
    command = service.parse("PROJ-42 priority=highest", JIRA_CHANNEL, today=TODAY)
    assert isinstance(command, UpdateCommand)
    first = await service.apply(command, ANA, JIRA_CHANNEL, idempotency_key="one-update")
    again = await service.apply(command, ANA, JIRA_CHANNEL, idempotency_key="one-update", first_try=False)
    assert [str(c) for c in again.changes] == [str(c) for c in first.changes] == ["priority Medium → Highest"]
    assert again.undo_body() == first.undo_body()
    assert sandbox.state.patches_applied == 1  # the second PATCH was the API's replay


async def test_a_later_try_of_an_update_that_never_sent_its_patch_is_still_a_no_op(
    service: TicketService, sandbox: SandboxServer
) -> None:
    """Its first try found nothing to change (so kept no "before"): a takeover says the same,
    rather than send a PATCH that changes nothing and a card with no visible change."""
    command = service.parse("PROJ-42 priority=medium", JIRA_CHANNEL, today=TODAY)  # it reads Medium
    assert isinstance(command, UpdateCommand)
    for first_try in (True, False):
        with pytest.raises(NothingToChange):
            await service.apply(command, ANA, JIRA_CHANNEL, idempotency_key="no-op", first_try=first_try)
    assert sandbox.state.calls("PATCH") == []
