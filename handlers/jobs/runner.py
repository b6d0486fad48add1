"""Running durable jobs (the work that changes tickets): each kind of job by its own runner.

Kinds:
- `command`: a `/ticket update` text; the card goes back through the response_url.
- `fields`: resolved values from a form or a card button; the card replaces the one clicked
  (response_url) or is posted to the channel the form came from.
- `thread`: a synced thread's reply, edit or deletion, or a tool's comment (thread_sync.py).
A failure the user can act on reaches them; when the ticketing API failed, with a Retry
button that puts the same job (same Idempotency-Key) on the queue again.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from pydantic import ValidationError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks.messages import comment_message
from bot.domain.accounts import Account
from bot.domain.commands import UpdateCommand
from bot.domain.errors import NothingToChange, UserInputError
from bot.domain.models import Ticket
from bot.domain.refs import TicketRef
from bot.ops import patience
from bot.ops.logs import bind
from bot.service.comments import add_comment
from bot.service.updates import UpdateResult
from bot.store.cache import LockBusy
from bot.store.queue import MAX_DELIVERIES, Handler, Job, NotForThisWorker, RunAgainLater
from bot.truto.client import BULK
from handlers.jobs import bulk, bulk_progress, create, steps, thread_sync, ticket_changed
from handlers.jobs.context import JobContext
from handlers.jobs.delivery import deliver_card, tell_job_asker
from handlers.kit import texts
from handlers.kit.deps import SlackDeps
from handlers.kit.failures import failure_of
from handlers.kit.identity import as_whom, refused_as_theirs
from handlers.kit.job_data import JobData
from handlers.kit.job_queue import store_for_retry
from handlers.kit.surface import new_error_id, to_response_url, user_message

log = logging.getLogger(__name__)


async def _run_command(ctx: JobContext, account: Account) -> UpdateResult:
    """A typed update, through `account` (the acting one)."""
    deps, data = ctx.deps, ctx.data
    command = deps.service.parse(data.text or "", data.channel, account=account)
    if not isinstance(command, UpdateCommand):
        raise UserInputError("only updates run as jobs")
    return await deps.service.apply(
        command, ctx.actor, data.channel, idempotency_key=data.key, account=account, first_try=ctx.first_try
    )


async def _run_fields(ctx: JobContext, account: Account) -> UpdateResult:
    """Resolved values (a form, a card's button), through `account` (the acting one)."""
    deps, data, actor = ctx.deps, ctx.data, ctx.actor
    body = dict(data.body)
    if data.assign_me:
        # Refused before any look-up of who the clicker is in the tool (users.info, the users list).
        await deps.service.check_may_update(account, actor, data.channel, ["assignees"], ask_the_tool=False)
        body["assignees"] = [
            (await deps.service.resolver.user_ref(account, actor)).model_dump(exclude_none=True)
        ]
    return await deps.service.apply_fields(
        account,
        TicketRef(data.ticket),
        body,
        actor=actor,
        channel=data.channel,
        idempotency_key=data.key,
        first_try=ctx.first_try,
    )


def _theirs(account: Account, data: JobData, running: Awaitable[UpdateResult]) -> Awaitable[UpdateResult]:
    return refused_as_theirs(account, running, f"change {data.ticket or 'this ticket'}")


def _loaded(deps: SlackDeps, job: Job) -> tuple[JobData, Account]:
    """The job's payload and account; NotForThisWorker when this deployment does not have that
    account (another deployment sharing the Redis will run it)."""
    try:
        data = JobData.load(job.data, deps.config)
    except ValidationError as exc:
        log.error(
            "job %s has a payload this version cannot read (%d problems); dropped", job.id, exc.error_count()
        )
        raise
    account = data.known_account(deps.config)
    if account is None:
        raise NotForThisWorker(
            f"account {data.account!r} ({data.integrated_account_id}) is not configured here"
        )
    return data, account


def _failure_told(ctx: JobContext) -> Callable[[Exception], Awaitable[None]]:
    """What the user hears when a job fails: their mistake, the tool's refusal (no Retry), or a
    failure a Retry can help (a timeout, a 5xx, a rate limit)."""

    async def failed(exc: Exception) -> None:
        failure = failure_of(ctx.job.id, ctx.data.ticket, exc)
        retry = await store_for_retry(ctx.deps, ctx.data) if failure.retryable else None
        text = failure.text + (" Retry is safe: it cannot apply twice." if failure.unconfirmed else "")
        await tell_job_asker(
            ctx.client, ctx.data, text, retry=retry, error_id=failure.error_id, notice=failure.notice
        )

    return failed


async def _cause(job: Job, exc: Exception) -> str:
    """Why one ticket of a bulk update failed, in a line."""
    message = user_message(exc)
    if message is not None:
        return message
    error_id = new_error_id()
    log.error("job %s failed: error %s", job.id, error_id, exc_info=exc)
    return f"{texts.SOMETHING_WENT_WRONG} (error {error_id})"


async def _run_batch_item(ctx: JobContext) -> None:
    """One ticket of a bulk update, within the bulk share of the API budget. Its outcome is
    recorded in the batch before the job is marked finished: a process that dies in between
    leaves the job to be run again (its PATCH cannot apply twice), never a batch without its
    summary. Recording twice is harmless: the summary is shown once."""
    deps, client, job, data = ctx.deps, ctx.client, ctx.job, ctx.data
    bulk = BULK.set(True)
    try:
        try:
            account = await ctx.acting()
            result = await _theirs(account, data, _run_fields(ctx, account))
        except NothingToChange as exc:  # someone set the same values since the batch was planned
            await bulk_progress.record(deps, client, data, "skipped", cause=str(exc))
        except Exception as exc:
            await bulk_progress.failed(deps, client, data, await _cause(job, exc))
        else:
            await bulk_progress.done(deps, client, data, result)
    except LockBusy as exc:  # the outcome is not recorded: run again (its PATCH cannot apply twice)
        raise RunAgainLater(str(exc)) from exc
    finally:
        BULK.reset(bulk)
    await deps.jobs.complete(job)


async def _run_bulk_command(ctx: JobContext) -> None:
    """A bulk `/ticket update`: planned here, then previewed or started as one job per ticket."""
    client, data = ctx.client, ctx.data

    async def say(message: dict[str, Any]) -> None:
        """To the user alone: through the response_url, or (from a modal) as an ephemeral message."""
        if data.response_url:
            await to_response_url(data.response_url, message)
        elif data.channel and data.user:
            kept = {k: v for k, v in message.items() if k in ("text", "blocks")}
            await client.chat_postEphemeral(channel=data.channel, user=data.user, **kept)

    async def nothing_more(_: None) -> None:
        """The preview, or the batch's message, was the answer."""

    work = bulk.run_command(ctx.deps, client, data, say)
    await ctx.complete_then_tell(work, nothing_more, failed=_failure_told(ctx))


async def _run_refresh(ctx: JobContext) -> None:
    """A webhook event: bring the ticket's cards up to date; nobody to tell, nothing to apply."""
    try:
        await ticket_changed.refresh(ctx.deps, ctx.client, ctx.data, ctx.account)
    except Exception:  # the next change of the ticket brings its cards up to date
        log.warning("cards of %s were not brought up to date", ctx.data.ticket, exc_info=True)
    await ctx.deps.jobs.complete(ctx.job)


async def _run_update(ctx: JobContext) -> None:
    """One update (typed, or resolved values): applied within the job's patience, then the card."""
    deps, client, data, account = ctx.deps, ctx.client, ctx.data, ctx.account
    noted: list[bool] = []

    async def queued_note(wait: float) -> None:
        """Said once when the update waits for the tool's rate limit; replaced by the card."""
        noted.append(True)
        await tell_job_asker(
            client,
            data,
            f"{data.ticket or 'The ticket'}: queued behind {account.display_tool}'s rate limit; "
            f"it will be applied in about {max(1, round(wait))} s.",
            notice=True,
        )

    run = _run_command if data.kind == "command" else _run_fields

    async def apply() -> UpdateResult:
        acting = await ctx.acting()
        with patience.patient(deps.config.settings.job_patience_seconds, queued_note):
            result = await _theirs(acting, data, run(ctx, acting))
        # Cards, subscriptions and Undo follow the workspace's account of the tool (its events).
        return dataclasses.replace(result, account=account, via=as_whom(acting))

    async def told(result: UpdateResult) -> None:
        if noted and data.response_url:
            await to_response_url(data.response_url, {"delete_original": True})  # the queued note
        await deliver_card(deps, client, data, result)

    await ctx.complete_then_tell(apply(), told, failed=_failure_told(ctx))


async def _run_comment(ctx: JobContext) -> None:
    """A comment: posted once (its Idempotency-Key is the request's), then said where it was asked."""
    data = ctx.data

    async def comment() -> tuple[Ticket, str]:
        return await add_comment(
            ctx.deps.service,
            await ctx.acting(),
            TicketRef(data.ticket),
            data.text or "",
            ctx.actor,
            data.channel,
            idempotency_key=data.key,
        )

    async def told(commented: tuple[Ticket, str]) -> None:
        await _tell_comment(ctx.client, data, ctx.account, *commented)

    await ctx.complete_then_tell(comment(), told, failed=_failure_told(ctx))


async def _tell_comment(
    client: AsyncWebClient, data: JobData, account: Account, ticket: Ticket, said: str
) -> None:
    quoted = said if len(said) <= 300 else said[:299] + "…"
    message = comment_message(ticket, quoted, data.user, account.display_tool)
    if data.response_url:
        await to_response_url(data.response_url, {"response_type": "in_channel", **message})
    elif data.channel:  # from a form: said in the channel by the bot
        try:
            await client.chat_postMessage(channel=data.channel, **message)
        except SlackApiError as exc:
            error = exc.response.get("error")
            log.info("comment on %s added; not said in %s (%s)", data.ticket, data.channel, error)


Runner = Callable[[JobContext], Awaitable[None]]
RunnerKind = Literal[
    "bulk_command", "refresh", "batch_item", "update", "comment", "step", "thread", "create", "delete"
]
RUNNERS: dict[RunnerKind, Runner] = {
    "bulk_command": _run_bulk_command,
    "refresh": _run_refresh,
    "batch_item": _run_batch_item,
    "update": _run_update,
    "comment": _run_comment,
    "step": steps.run_step,
    "thread": thread_sync.run_thread,
    "create": create.run_create,
    "delete": create.run_delete,
}


def runner_kind(data: JobData) -> RunnerKind:
    """Which runner a job needs: a bulk command is planned, a webhook event refreshes cards, a
    ticket of a bulk update reports to its batch, anything else is one update."""
    if data.surface == "bulk" and data.kind == "command":
        return "bulk_command"
    if data.kind == "refresh":
        return "refresh"
    if data.kind in ("comment", "step", "thread", "create", "delete"):
        return data.kind
    if data.batch is not None:
        return "batch_item"
    return "update"


def job_handler(deps: SlackDeps, client: AsyncWebClient) -> Handler:
    """The worker's handler: run one job by its runner, and make sure the user hears how it went."""

    async def handle(job: Job) -> None:
        data, account = _loaded(deps, job)
        bind(
            request_id=data.request_id, user=data.user, channel=data.channel, job=job.id, account=account.name
        )
        await RUNNERS[runner_kind(data)](JobContext(deps, client, job, data, account))

    return handle


def dropped_job_handler(deps: SlackDeps, client: AsyncWebClient) -> Handler:
    """Tell the user of a job given up after too many deliveries, with Retry: nobody knows
    whether the change landed, and a retry cannot apply it twice."""

    async def dropped(job: Job) -> None:
        data, _ = _loaded(deps, job)
        if data.kind == "step":  # a workflow has no Retry button: its step fails, saying so
            await steps.give_up(client, data, MAX_DELIVERIES)
            return
        retry = await store_for_retry(deps, data)
        what = data.ticket or ("The new ticket" if data.kind == "create" else "The ticket")
        change = {"create": "creation", "delete": "deletion"}.get(data.kind, "update")
        text = (
            f"{what}: the {change} could not be completed (it was tried {MAX_DELIVERIES} times); "
            "it may not have been applied. Retry is safe: it cannot apply twice."
        )
        await tell_job_asker(client, data, text, retry=retry)

    return dropped
