"""Workflow Builder steps, the worker's part: run "Update a ticket", "Get a ticket" or "Create a
ticket" as the
person Slack vouches for (else as the workflow), and complete the step with its outputs or fail it
in the words a user would read, once."""

from __future__ import annotations

import logging

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.accounts import Account
from bot.domain.actors import Actor
from bot.domain.commands import CreateCommand, UpdateCommand
from bot.domain.errors import NothingToChange, Refused, UserInputError
from bot.domain.matching import user_emails
from bot.domain.models import Ticket
from bot.domain.refs import TicketRef
from bot.domain.workflow_inputs import CREATE_OUTPUTS, CREATE_STEP, GET_STEP, OUTPUTS
from bot.ops import patience
from bot.service.comments import add_comment
from bot.service.creating import MissingFields
from bot.store.queue import Job
from bot.truto.errors import NotFound, TrutoError
from handlers.jobs import create, notify_people
from handlers.jobs.context import JobContext
from handlers.jobs.delivery import note_written
from handlers.kit import texts
from handlers.kit.deps import SlackDeps, idempotency_key
from handlers.kit.failures import failure_of
from handlers.kit.identity import acting_account
from handlers.kit.job_data import JobData

log = logging.getLogger(__name__)


WORKFLOW = "a workflow"  # who acts when no person Slack vouches for started the workflow


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
        for item in await notify_people.tool_users(deps, account, {first}):
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


async def _get(ctx: JobContext) -> dict[str, str]:
    deps, data, account = ctx.deps, ctx.data, ctx.account
    _actor(account, data)
    account = await acting_account(deps, account, data.user)  # the vouched person reads as themselves
    ticket = await deps.service.fetch_ticket(account, TicketRef(data.ticket))
    return _outputs(ticket, await _slack_assignee(deps, account, ticket, data.team), _described(ticket))


async def _update(ctx: JobContext) -> dict[str, str]:
    deps, job, data, account = ctx.deps, ctx.job, ctx.data, ctx.account
    actor = _actor(account, data)
    # A person Slack vouches for acts through their own connection, as the workspace's policy says;
    # a workflow acts through the workspace's.
    account = await acting_account(deps, account, data.user)
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


async def _create(ctx: JobContext) -> dict[str, str]:
    """A new ticket as the vouched person (through their own connection, as the workspace's
    policy says), else as the workflow; its outputs for the steps that follow."""
    deps, data, account = ctx.deps, ctx.data, ctx.account
    actor = _actor(account, data)
    acting = await acting_account(deps, account, data.user)
    command = deps.service.parse(data.text or "", data.channel, account=acting)
    if not isinstance(command, CreateCommand):
        raise UserInputError("the step's Fields are field=value words, e.g. type=Bug priority=high")
    creator = deps.service.creator
    plan = await creator.plan(
        acting,
        actor,
        data.channel,
        title=command.title,
        assignments=command.assignments,
        values=dict(data.body) or None,
    )
    with patience.patient(deps.config.settings.job_patience_seconds):
        ticket = await creator.create(plan, actor, data.channel, idempotency_key=data.key)
    await create.note_created(deps, data, account, ticket)
    values = (ticket.display_ref, ticket.web_url or account.ticket_url(ticket.display_ref), ticket.name)
    return {name: value for name, value in zip(CREATE_OUTPUTS, values, strict=True) if value}


async def fail_step(client: AsyncWebClient, execution: str, error: str) -> None:
    try:
        await client.functions_completeError(function_execution_id=execution, error=error)
    except SlackApiError as exc:  # the step timed out or was cancelled meanwhile
        log.warning("step %s could not be failed (%s)", execution, exc.response.get("error"))


def _words(job: Job, data: JobData, exc: Exception) -> str:
    if data.step == CREATE_STEP:
        if isinstance(exc, MissingFields):
            return texts.refusal(exc.in_a_step)
        return failure_of(job.id, "The new ticket", exc).text
    if data.step == GET_STEP and isinstance(exc, TrutoError) and not isinstance(exc, NotFound):
        return f"{data.ticket} could not be read: {exc.user_message}"
    return failure_of(job.id, data.ticket, exc).text


async def run_step(ctx: JobContext) -> None:
    """A step's job: its outcome completes the step, once (only the run that finishes the job)."""
    client, job, data = ctx.client, ctx.job, ctx.data
    execution = data.function_execution_id or ""
    run = {GET_STEP: _get, CREATE_STEP: _create}.get(data.step or "", _update)

    async def completed(outputs: dict[str, str]) -> None:
        try:
            await client.functions_completeSuccess(function_execution_id=execution, outputs=outputs)
        except SlackApiError as exc:
            log.warning("step %s ran but could not be completed (%s)", execution, exc.response.get("error"))

    async def failed(exc: Exception) -> None:
        await fail_step(client, execution, _words(job, data, exc))

    await ctx.complete_then_tell(run(ctx), completed, failed)


async def give_up(client: AsyncWebClient, data: JobData, tries: int) -> None:
    """A step's job given up after `tries` deliveries: the step fails, saying so."""
    await fail_step(
        client,
        data.function_execution_id or "",
        f"{data.ticket or 'The new ticket'}: the step could not be completed (it was tried {tries} "
        "times); it may not have been applied. Running the workflow again is safe.",
    )
