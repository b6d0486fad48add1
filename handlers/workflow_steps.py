"""Workflow Builder steps: "Update a ticket" and "Get a ticket" (Slack's custom steps, the
manifest's `functions`).

A `function_executed` event is written as a durable job before its ack (a failed write answers
500, so Slack delivers it again), keyed by its `function_execution_id`: Slack's retries of the
event run it once. The worker runs an update through the planner, permissions and
Idempotency-Key of `/ticket update`, and completes the step with its outputs
(`functions.completeSuccess`), or fails it with the words a user would read in Slack
(`functions.completeError`). Inputs the step cannot run with are failed at once, nothing sent.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.accounts import Account
from bot.domain.actors import Actor
from bot.domain.commands import UpdateCommand
from bot.domain.errors import NothingToChange, Refused, UserInputError
from bot.domain.matching import user_emails
from bot.domain.models import Ticket
from bot.domain.refs import TicketRef, parse_ref
from bot.domain.workflow_inputs import GET_STEP, OUTPUTS, STEPS, request_of
from bot.ops import patience
from bot.service.comments import add_comment
from bot.store.queue import Job
from bot.truto.errors import NotFound, TrutoError
from handlers import notifications, texts
from handlers.delivery import note_written
from handlers.deps import SlackDeps, idempotency_key
from handlers.failures import failure_of
from handlers.job_data import JobData
from handlers.job_queue import enqueue
from handlers.surface import guarded

log = logging.getLogger(__name__)
WORKFLOW = "a workflow"  # who acts when no person Slack vouches for started the workflow


def _execution(body: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    event = body.get("event") or {}
    step = str((event.get("function") or {}).get("callback_id") or "")
    inputs = event.get("inputs")
    return step, str(event.get("function_execution_id") or ""), inputs if isinstance(inputs, dict) else {}


def step_job(deps: SlackDeps, body: dict[str, Any]) -> JobData:
    """The step's job; UserInputError for inputs it cannot run with."""
    step, execution, inputs = _execution(body)
    if step not in STEPS or not execution:
        raise UserInputError(f"unknown step {step!r}")
    request = request_of(step, inputs)
    patterns = tuple(p for a in deps.config.accounts.values() for p in a.link_patterns)
    ref = parse_ref(request.ticket, patterns)
    account = deps.service.account_for_ref(ref, request.channel)
    return JobData.for_account(
        account,
        kind="step",
        surface="workflow",
        step=step,
        function_execution_id=execution,
        ticket=ref.id,
        text=request.text,
        comment=request.comment,
        key=idempotency_key(body.get("team_id"), execution),
        reply="post",
        channel=request.channel,
        user=request.interactor,
        claimed_for=request.claimed_for,
        team=body.get("team_id"),
    )


REFUSED = "step_refused"  # the context key: why a step's inputs cannot run, for refuse_step


async def ack_step(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext, deps: SlackDeps) -> None:
    try:
        job = step_job(deps, body)
    except UserInputError as exc:
        context[REFUSED] = str(exc)  # failed by refuse_step, after the ack
    else:
        await enqueue(deps, job, dedupe=job.key)
    await ack()


@guarded
async def refuse_step(body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext) -> None:
    """Fail a step whose inputs it cannot run with, saying what to change; nothing is sent."""
    refused = context.get(REFUSED)
    _, execution, _ = _execution(body)
    if refused and execution:
        await _fail(client, execution, texts.refusal(str(refused)))


def _actor(account: Account, data: JobData) -> Actor:
    """Who the step acts as: the person Slack vouches for (its Interactivity input's interactor),
    with their own permissions; else the workflow itself, carrying the person its author named
    as a claim only (permissions.workflow_steps decides where a workflow may update)."""
    if account.permissions.workflow_steps == "off":
        raise Refused(
            f"Workflow Builder steps are turned off for {account.display_tool} "
            f"(permissions.workflow_steps of the {account.name} account)"
        )
    if data.user:
        return Actor(slack_user_id=data.user)
    return Actor(name=WORKFLOW, as_workflow=True, claimed_for=data.claimed_for)


def _outputs(ticket: Ticket, assignee: str | None, summary: str) -> dict[str, str]:
    """The step's outputs (OUTPUTS, as the manifest declares them); those without a value left out."""
    values = (
        ticket.display_ref,
        ticket.web_url,
        ticket.name,
        ticket.status_name,
        ticket.priority_name,
        assignee,
        summary,
    )
    return {name: value for name, value in zip(OUTPUTS, values, strict=True) if value}


async def _slack_assignee(deps: SlackDeps, account: Account, ticket: Ticket, team: str | None) -> str | None:
    """The ticket's (first) assignee as a Slack user, matched by email, so that a later step can
    message them; None when the tool's user has no email Slack knows."""
    directory = deps.core.slack_directory
    first = next((a.id for a in ticket.assignees or [] if a.id), None)
    if directory is None or first is None:
        return None
    try:
        for item in await notifications.tool_users(deps, account, {first}):
            for email in user_emails(item):
                if found := await directory.user_by_email(email, team):
                    return found
    except Exception:  # the output is a convenience: the step's outcome does not hang on it
        log.warning("the assignee of %s was not matched to a Slack user", ticket.display_ref, exc_info=True)
    return None


def _described(ticket: Ticket) -> str:
    facts = [
        f"status {ticket.status_name}" if ticket.status_name else "",
        f"priority {ticket.priority_name}" if ticket.priority_name else "",
        f"assigned to {', '.join(ticket.assignee_names)}" if ticket.assignee_names else "unassigned",
        f"due {ticket.due_date[:10]}" if ticket.due_date else "",
    ]
    head = f"{ticket.display_ref}: {ticket.name}" if ticket.name else ticket.display_ref
    return f"{head} ({', '.join(f for f in facts if f)})"


async def _get(deps: SlackDeps, job: Job, data: JobData, account: Account) -> dict[str, str]:
    _actor(account, data)
    ticket = await deps.service.fetch_ticket(account, TicketRef(data.ticket))
    return _outputs(ticket, await _slack_assignee(deps, account, ticket, data.team), _described(ticket))


async def _update(deps: SlackDeps, job: Job, data: JobData, account: Account) -> dict[str, str]:
    actor = _actor(account, data)
    said: list[str] = []
    ticket: Ticket | None = None
    if data.text:
        command = deps.service.parse(data.text, data.channel, account=account)
        if not isinstance(command, UpdateCommand) or command.bulk:
            raise UserInputError("a step updates one ticket: give one key in Ticket and fields in Changes")
        try:
            with patience.patient(deps.config.settings.job_patience_seconds):
                result = await deps.service.apply(
                    command,
                    actor,
                    data.channel,
                    idempotency_key=data.key,
                    account=account,
                    first_try=job.deliveries <= 1,
                )
        except NothingToChange as exc:  # a workflow that sets what is already set has done its job
            # "PROJ-42 already has status In Progress", then what else the step did, as one sentence.
            said.append(str(exc).removesuffix("; nothing was sent.") if data.comment else str(exc))
        else:
            await note_written(deps, data, result)
            ticket = result.ticket
            said.append("; ".join(str(c) for c in result.changes) or "updated")
    if data.comment:
        key = idempotency_key(data.key, "comment")
        commented, _ = await add_comment(
            deps.service,
            account,
            TicketRef(data.ticket),
            data.comment,
            actor,
            data.channel,
            idempotency_key=key,
        )
        ticket = ticket or commented
        said.append("comment added")
    if ticket is None:
        ticket = await deps.service.fetch_ticket(account, TicketRef(data.ticket))
    return _outputs(ticket, await _slack_assignee(deps, account, ticket, data.team), "; ".join(said))


async def _fail(client: AsyncWebClient, execution: str, error: str) -> None:
    try:
        await client.functions_completeError(function_execution_id=execution, error=error)
    except SlackApiError as exc:  # the step timed out or was cancelled meanwhile
        log.warning("step %s could not be failed (%s)", execution, exc.response.get("error"))


def _words(job: Job, data: JobData, exc: Exception) -> str:
    if data.step == GET_STEP and isinstance(exc, TrutoError) and not isinstance(exc, NotFound):
        return f"{data.ticket} could not be read: {exc.user_message}"
    return failure_of(job.id, data.ticket, exc).text


async def run_step(
    deps: SlackDeps, client: AsyncWebClient, job: Job, data: JobData, account: Account
) -> None:
    """A step's job: its outcome completes the step, once (only the run that finishes the job)."""
    execution = data.function_execution_id or ""
    run = _get if data.step == GET_STEP else _update
    try:
        outputs = await run(deps, job, data, account)
    except Exception as exc:
        if await deps.jobs.complete(job):
            await _fail(client, execution, _words(job, data, exc))
        return
    if not await deps.jobs.complete(job):
        return
    try:
        await client.functions_completeSuccess(function_execution_id=execution, outputs=outputs)
    except SlackApiError as exc:
        log.warning("step %s ran but could not be completed (%s)", execution, exc.response.get("error"))


async def give_up(client: AsyncWebClient, data: JobData, tries: int) -> None:
    """A step's job given up after `tries` deliveries: the step fails, saying so."""
    await _fail(
        client,
        data.function_execution_id or "",
        f"{data.ticket}: the step could not be completed (it was tried {tries} times); it may not "
        "have been applied. Running the workflow again is safe.",
    )


def register(app: AsyncApp) -> None:
    for step in STEPS:
        app.function(step)(ack=ack_step, lazy=[refuse_step])
