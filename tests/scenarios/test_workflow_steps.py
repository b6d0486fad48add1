"""Workflow Builder steps over signed `function_executed` events, as Slack sends them: the exact
PATCH and comment, once under Slack's retries, and the step completed (or failed, in the words a
user would read) at the fake Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.cli.try_it import started_by, step_payload
from bot.domain.accounts import Permissions, UpdateRule
from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from bot.store import keys
from tests.conftest import JIRA
from tests.scenarios.conftest import Harness, harness_config, running


def executed(step: str, inputs: dict[str, Any], execution: str | None = None) -> dict[str, Any]:
    """A function_executed envelope in the shape Slack documents for it (`ticketbot try --step`
    sends the same)."""
    return step_payload("T0TEAM", step, inputs, execution)


def completed(harness: Harness) -> list[dict[str, Any]]:
    return [c.args for c in harness.calls("functions.completeSuccess")]


def failed(harness: Harness) -> list[dict[str, Any]]:
    return [c.args for c in harness.calls("functions.completeError")]


def comments_sent(harness: Harness) -> list[Any]:
    return [r for r in harness.sandbox.state.calls("POST") if r.path == "/unified/ticketing/comments"]


async def test_update_step_applies_its_inputs_once_and_completes_with_outputs(harness: Harness) -> None:
    envelope = executed(
        "update_ticket",
        {
            "ticket": "PROJ-42",
            "changes": "tags+=backend",
            "status": "In Progress",
            "priority": "high",
            "assignee": "U0ANA",
            "due_date": "2026-12-11",
            "comment": 'Picked up by the "triage" workflow',
            "updated_by": "U0ANA",
        },
        execution="Fx0UPDATE01",
    )
    response = await harness.event(envelope)
    assert response.status_code == 200
    [patch] = harness.sandbox.state.calls("PATCH")
    assert patch.path == "/unified/ticketing/tickets/PROJ-42"
    assert patch.body == {
        "tags": [{"id": "jl2", "name": "frontend"}, {"id": "jl1", "name": "backend"}],
        "status": {"id": "js2", "name": "In Progress"},
        "priority": {"id": "jp2", "name": "High"},
        "assignees": [{"id": "ju0001", "name": "Ana Lima"}],
        "due_date": "2026-12-11",
    }
    assert patch.headers.get("idempotency-key")
    [comment] = comments_sent(harness)
    assert comment.body == {"body": 'Picked up by the "triage" workflow'}
    [outputs] = completed(harness)
    assert outputs["function_execution_id"] == "Fx0UPDATE01"
    assert outputs["outputs"] == {
        "ticket_id": "PROJ-42",
        "ticket_url": "https://acme.atlassian.net/browse/PROJ-42",
        "title": "Login fails with SSO",
        "status": "In Progress",
        "priority": "High",
        "assignee": "U0ANA",  # the tool's user, as the Slack person with the same email
        "summary": (
            "tags +backend; status To Do → In Progress; priority Medium → High; "
            "assignees Bruno Costa → Ana Lima; due date — → 2026-12-11; comment added"
        ),
    }
    assert failed(harness) == []
    assert harness.calls("chat.postMessage") == []  # a workflow's outcome is its outputs
    # Slack delivers the event again (its retry): nothing applies twice, the step ends once.
    await harness.event(envelope, retry_num=1)
    assert len(harness.sandbox.state.calls("PATCH")) == 1 and len(comments_sent(harness)) == 1
    assert len(completed(harness)) == 1


async def test_get_step_reads_the_ticket_for_later_steps(harness: Harness) -> None:
    await harness.event(executed("get_ticket", {"ticket": "https://acme.atlassian.net/browse/PROJ-42"}))
    assert [r.method for r in harness.sandbox.state.calls()].count("PATCH") == 0
    [outputs] = completed(harness)
    assert outputs["outputs"] == {
        "ticket_id": "PROJ-42",
        "ticket_url": "https://acme.atlassian.net/browse/PROJ-42",
        "title": "Login fails with SSO",
        "status": "To Do",
        "priority": "Medium",
        "assignee": "U0BRUNO",
        "summary": "PROJ-42: Login fails with SSO (status To Do, priority Medium, assigned to Bruno Costa)",
    }
    [lookup] = harness.calls("users.lookupByEmail")
    assert lookup.args["email"] == "bruno@acme.example"
    # A tool user whose email Slack does not know: no assignee output, the step still completes.
    jira = harness.sandbox.state.profiles["sandbox-jira"]
    jira.tickets["PROJ-41"]["assignees"] = [{"id": "ju0004", "name": "Carla Mendes"}]  # not in Slack
    await harness.event(executed("get_ticket", {"ticket": "PROJ-41"}))
    assert "assignee" not in completed(harness)[-1]["outputs"] and len(completed(harness)) == 2


async def test_a_step_fails_with_the_words_a_user_would_read(harness: Harness) -> None:
    await harness.event(
        executed("update_ticket", {"ticket": "PROJ-9999", "status": "Done", "updated_by": "U0ANA"})
    )
    [error] = failed(harness)
    assert error["error"] == "No PROJ-9999 in Jira."
    await harness.event(
        executed("update_ticket", {"ticket": "PROJ-42", "priority": "urgentest", "updated_by": "U0ANA"})
    )
    assert failed(harness)[1]["error"] == (
        # Never "did you mean Lowest?": a shared ending is no likeness, and Lowest is its opposite.
        "Priority: no priority matches 'urgentest'; accepted: Highest, High, Medium, Low, Lowest. "
        "Nothing was sent."
    )
    assert harness.sandbox.state.calls("PATCH") == [] and completed(harness) == []


async def test_inputs_it_cannot_run_with_fail_at_once_and_nothing_is_sent(harness: Harness) -> None:
    cases = {
        "The step changes nothing: fill in Changes": {"ticket": "PROJ-42", "updated_by": "U0ANA"},
        "The step has no Ticket: give a ticket key such as PROJ-42": {"status": "Done"},
        "The step's Ticket is 'PROJ-42 and PROJ-43': give one ticket key": {
            "ticket": "PROJ-42 and PROJ-43",
            "status": "Done",
        },
        "The step's Due date is 'next week': give a date (YYYY-MM-DD)": {
            "ticket": "PROJ-42",
            "due_date": "next week",
        },
        "The step's Assignee is 'ana', not a Slack user": {"ticket": "PROJ-42", "assignee": "ana"},
    }
    harness.run_jobs = False  # a job written would wait in the stream
    for said, inputs in cases.items():
        await harness.event(executed("update_ticket", inputs))
        assert failed(harness)[-1]["error"].startswith(said), failed(harness)[-1]
        assert failed(harness)[-1]["error"].endswith("Nothing was sent.")
    assert harness.sandbox.state.calls() == [] and completed(harness) == []
    assert await harness.core.redis.xlen(keys.jobs_stream()) == 0  # no job was written for any


async def test_setting_what_is_already_set_completes_without_a_patch(harness: Harness) -> None:
    await harness.event(
        executed("update_ticket", {"ticket": "PROJ-42", "status": "To Do", "updated_by": "U0ANA"})
    )
    assert harness.sandbox.state.calls("PATCH") == []
    [outputs] = completed(harness)
    assert outputs["outputs"]["status"] == "To Do"
    assert outputs["outputs"]["summary"].startswith("PROJ-42 already")
    # The README's example: status already set, and a comment: one true sentence.
    await harness.event(
        executed("update_ticket", {"ticket": "PROJ-42", "status": "To Do", "comment": "Picked up"})
    )
    assert harness.sandbox.state.calls("PATCH") == []
    assert completed(harness)[-1]["outputs"]["summary"] == "PROJ-42 already has status To Do; comment added"


def guarded_config(sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str, steps: str) -> Any:
    """Jira updates only by U0ANA; `steps`: permissions.workflow_steps."""
    permissions = Permissions(update=UpdateRule(users=("U0ANA",)), workflow_steps=steps)  # type: ignore[arg-type]
    jira = JIRA.model_copy(update={"permissions": permissions})
    return harness_config(sandbox, fake_slack, clean_redis, jira=jira)


@pytest.fixture
async def guarded(sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str) -> AsyncIterator[Harness]:
    """Jira updates only by U0ANA; steps by default (`workflow_steps: person`)."""
    async with running(guarded_config(sandbox, fake_slack, clean_redis, "person"), sandbox, fake_slack) as h:
        yield h


async def test_a_step_without_a_vouched_person_runs_as_the_workflow_where_updates_are_open(
    harness: Harness,
) -> None:
    await harness.event(
        executed("update_ticket", {"ticket": "PROJ-42", "status": "Done", "updated_by": "U0BRUNO"})
    )
    assert len(harness.sandbox.state.calls("PATCH")) == 1 and failed(harness) == []
    [record] = await harness.core.service.audit.read(ticket="PROJ-42")  # type: ignore[union-attr]
    assert record.user_id is None  # the claim is shown, never the actor
    assert record.user_name == "a workflow, for <@U0BRUNO> (as the workflow says)"


async def test_who_a_step_acts_for_and_their_permissions(guarded: Harness) -> None:
    # The person Slack vouches for (the workflow was started by them) acts with their permissions.
    await guarded.event(
        executed("update_ticket", {"ticket": "PROJ-42", "status": "Done", **started_by("U0BRUNO")})
    )
    assert failed(guarded)[-1]["error"].startswith("You may not change Jira tickets from Slack")
    await guarded.event(
        executed("update_ticket", {"ticket": "PROJ-42", "status": "Done", **started_by("U0ANA")})
    )
    assert len(guarded.sandbox.state.calls("PATCH")) == 1
    [record] = await guarded.core.service.audit.read(ticket="PROJ-42")  # type: ignore[union-attr]
    assert record.user_id == "U0ANA"
    # Without one, updates limited to people refuse the workflow, saying which setting to change.
    await guarded.event(executed("update_ticket", {"ticket": "PROJ-42", "priority": "high"}))
    error = failed(guarded)[-1]["error"]
    assert error.startswith("This step was not started by a person Slack can vouch for, and Jira updates")
    assert "permissions.workflow_steps: any" in error and "Workflow Builder steps" in error
    assert len(guarded.sandbox.state.calls("PATCH")) == 1


async def test_steps_allowed_to_run_as_the_workflow(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> None:
    config = guarded_config(sandbox, fake_slack, clean_redis, "any")
    async with running(config, sandbox, fake_slack) as harness:
        await harness.event(
            executed("update_ticket", {"ticket": "PROJ-42", "priority": "high", "updated_by": "U0ANA"})
        )
        assert len(harness.sandbox.state.calls("PATCH")) == 1
        [record] = await harness.core.service.audit.read(ticket="PROJ-42")  # type: ignore[union-attr]
        assert (record.user_id, record.user_name) == (
            None,
            "a workflow, for <@U0ANA> (as the workflow says)",
        )
        # A vouched person still meets their own permissions.
        await harness.event(
            executed("update_ticket", {"ticket": "PROJ-42", "priority": "low", **started_by("U0BRUNO")})
        )
        assert failed(harness)[-1]["error"].startswith("You may not change Jira tickets from Slack")
        assert len(harness.sandbox.state.calls("PATCH")) == 1


async def test_steps_turned_off_for_an_account(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> None:
    jira = JIRA.model_copy(update={"permissions": Permissions(workflow_steps="off")})
    async with running(
        harness_config(sandbox, fake_slack, clean_redis, jira=jira), sandbox, fake_slack
    ) as harness:
        await harness.event(executed("get_ticket", {"ticket": "PROJ-42"}))
        [error] = failed(harness)
        assert error["error"].startswith(
            "Workflow Builder steps are turned off for Jira (permissions.workflow_steps"
        )
        assert harness.sandbox.state.calls() == []
