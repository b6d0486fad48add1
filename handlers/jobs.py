"""Running durable jobs (the work that changes tickets), and putting them on the queue.

Kinds:
- `command`: a `/ticket update` text; the card goes back through the response_url.
- `fields`: resolved values from a form or a card button; the card replaces the one clicked
  (response_url) or is posted to the channel the form came from.
A failure the user can act on reaches them; when the ticketing API failed, with a Retry
button that puts the same job (same Idempotency-Key) on the queue again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.actors import Actor
from bot.domain.errors import NothingToChange, Notice, UserInputError
from bot.domain.grammar import ParseError, UpdateCommand
from bot.domain.models import TicketUpdate
from bot.domain.refs import TicketRef
from bot.ops import patience
from bot.ops.config import Account
from bot.ops.logs import bind
from bot.service.tickets import UpdateResult
from bot.store.card_registry import Card
from bot.store.queue import MAX_DELIVERIES, Job, NotForThisWorker, QueueFull
from bot.truto.client import BULK
from bot.truto.errors import RateLimited, TrutoError, Unavailable
from handlers import bulk_progress, live_cards, texts
from handlers.deps import SlackDeps
from handlers.job_data import JobData
from handlers.surface import (
    NOT_A_MEMBER,
    answer_privately,
    card_message,
    channel_card,
    new_error_id,
    private_answer,
    to_response_url,
    user_message,
)

log = logging.getLogger(__name__)


BUSY = texts.BUSY


class Busy(UserInputError):
    """The job could not be kept anywhere; the user is told to try again."""

    def __init__(self) -> None:
        super().__init__(BUSY)


async def put_job(
    deps: SlackDeps, data: JobData, *, once: str | None = None, once_ttl: float = 3600.0
) -> Job | None:
    try:
        return await deps.jobs.put(data.to_json(), once=once, once_ttl=once_ttl)
    except QueueFull:
        log.warning("job refused: the in-process queue is full while Redis is away")
        raise Busy() from None


async def enqueue(deps: SlackDeps, data: JobData, *, dedupe: str, dedupe_ttl: float = 3600.0) -> bool:
    """Write the job before the ack; a repeat of the same request (Slack retry, double click) is
    dropped. Returns False for a repeat; Busy when it cannot be kept."""
    if await put_job(deps, data, once=dedupe, once_ttl=dedupe_ttl) is None:
        log.info("duplicate delivery %s dropped", dedupe[:12])
        return False
    return True


async def _tell(
    client: AsyncWebClient,
    data: JobData,
    message: str,
    *,
    retry: str | None = None,
    error_id: str | None = None,
    notice: bool = False,
) -> None:
    answer = private_answer(message, notice=notice, retry_value=retry, error_id=error_id)
    await answer_privately(
        client, answer, response_url=data.response_url, channel=data.channel, user=data.user
    )


async def store_for_retry(deps: SlackDeps, data: JobData) -> str:
    """Keep a job for its Retry button; returns the signed button value."""
    return await deps.retries.put(data.to_json(), ttl=deps.retry_ttl)


async def take_stored(deps: SlackDeps, value: str | None) -> dict[str, Any] | None:
    """The job behind a Retry button, once (a second click finds nothing)."""
    held = await deps.retries.take(value)
    return held.value if held is not None else None


def _first_try(job: Job, data: JobData) -> bool:
    """No earlier try of this job may have landed (a redelivery or a Retry may have)."""
    return job.deliveries <= 1 and not data.retried_from


async def _run_command(deps: SlackDeps, job: Job, data: JobData, account: Account) -> UpdateResult:
    command = deps.service.parse(data.text or "", data.channel, account=account)
    if not isinstance(command, UpdateCommand):
        raise UserInputError("only updates run as jobs")
    actor = Actor(slack_user_id=data.user, name=data.user_name)
    return await deps.service.apply(
        command,
        actor,
        data.channel,
        idempotency_key=data.key,
        account=account,
        first_try=_first_try(job, data),
    )


async def _run_fields(deps: SlackDeps, job: Job, data: JobData, account: Account) -> UpdateResult:
    actor = Actor(slack_user_id=data.user, name=data.user_name)
    body = dict(data.body)
    if data.assign_me:
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
        first_try=_first_try(job, data),
    )


async def _offer_undo(deps: SlackDeps, data: JobData, result: UpdateResult) -> str | None:
    """Keep what Undo needs (for UNDO_MINUTES); returns the signed button value."""
    body = result.undo_body()
    if not body or deps.config.settings.undo_minutes <= 0:
        return None
    record = {
        "account": result.account.name,
        "ticket": result.ticket.id,
        "body": TicketUpdate(**body).to_body(),
        "expect": result.undo_expect(),
        "targets": [list(t) for t in result.targets],
        "channel": data.channel,
        "user": data.user,
        "user_name": data.user_name,
    }
    return await deps.undos.put(record, ttl=deps.config.settings.undo_minutes * 60)


async def _deliver(deps: SlackDeps, client: AsyncWebClient, data: JobData, result: UpdateResult) -> None:
    style = channel_card(deps, result.account)
    replacing = data.reply == "replace" and data.response_url
    # The channel sees the account's style; a card clicked is replaced by a card (an Undo
    # clicked on a compact line, by a compact line).
    compact = style == "compact" and (not replacing or data.surface == "undo")
    card = await card_message(
        deps,
        result.account,
        result.ticket,
        changes=result.changes,
        actor_id=data.user,
        shareable=data.ephemeral or (style == "none" and not replacing),
        undo_value=await _offer_undo(deps, data, result),
        compact=compact,
    )
    await deps.own_writes.note(result.account.integrated_account_id, result.ticket)
    kept: Card | None = None
    if data.reply == "replace" and data.response_url:
        await to_response_url(data.response_url, {"replace_original": True, **card})
        if data.message_ts and data.channel and not data.ephemeral:
            kept = live_cards.posted(data.channel, data.message_ts, compact=compact)
        else:
            kept = live_cards.through_response_url(data.response_url, compact=compact)
    elif style == "none":
        await _to_the_user_alone(client, data, card)  # the channel sees nothing
    elif data.reply == "in_channel" and data.response_url:
        # Posted as the bot where it is a member: such a card can be kept up to date for as long
        # as it exists; elsewhere through the response_url (which works for 30 minutes).
        kept = await _post_as_bot(client, data, card, compact)
        if kept is None:
            await to_response_url(
                data.response_url, {"response_type": "in_channel", "replace_original": False, **card}
            )
            kept = live_cards.through_response_url(data.response_url, compact=compact)
    else:
        # The channel the form came from; without one, a direct message to the user.
        kept = await _post_card(client, data, card, compact)
    if kept is not None:
        await live_cards.remember(deps, result.account, result.ticket, kept)
    if data.surface == "undo":
        await _undo_in_thread(client, data, result)
    if data.retried_from:
        await to_response_url(data.retried_from, {"delete_original": True})


async def _to_the_user_alone(client: AsyncWebClient, data: JobData, card: dict[str, Any]) -> None:
    if data.response_url:
        await to_response_url(
            data.response_url, {"response_type": "ephemeral", "replace_original": False, **card}
        )
    elif data.channel and data.user:
        await client.chat_postEphemeral(channel=data.channel, user=data.user, **card)
    elif data.user:
        await client.chat_postMessage(channel=data.user, **card)


async def _undo_in_thread(client: AsyncWebClient, data: JobData, result: UpdateResult) -> None:
    """An Undo rewrites the card; the card's thread keeps who changed what."""
    if not (data.channel and data.message_ts and not data.ephemeral and data.user):
        return
    whose = f"<@{data.undo_of}>'s" if data.undo_of and data.undo_of != data.user else "their own"
    what = ", ".join(str(c) for c in result.changes) or "no visible change"
    text = f"<@{data.user}> undid {whose} change on {result.ticket.display_ref}: {what}."
    try:
        await client.chat_postMessage(channel=data.channel, thread_ts=data.message_ts, text=text)
    except SlackApiError as exc:
        log.info("the undo could not be told in the card's thread (%s)", exc.response.get("error"))


async def _post_as_bot(
    client: AsyncWebClient, data: JobData, card: dict[str, Any], compact: bool
) -> Card | None:
    """The card posted in the job's channel as the bot; None where the bot may not post."""
    if not data.channel:
        return None
    try:
        answer = await client.chat_postMessage(channel=data.channel, **card)
    except SlackApiError as exc:
        if exc.response.get("error") not in NOT_A_MEMBER:
            raise
        return None
    return live_cards.posted(str(answer.get("channel") or data.channel), answer.get("ts"), compact=compact)


async def _post_card(
    client: AsyncWebClient, data: JobData, card: dict[str, Any], compact: bool
) -> Card | None:
    """Post the card; where the bot may not post (it was never invited), show it to the user
    alone, saying how to have cards posted there: the change was made, and nobody is left unaware.
    Returns the posted card (None for an ephemeral one)."""
    try:
        answer = await client.chat_postMessage(channel=str(data.channel or data.user), **card)
        return live_cards.posted(
            str(answer.get("channel") or data.channel), answer.get("ts"), compact=compact
        )
    except SlackApiError as exc:
        if exc.response.get("error") not in NOT_A_MEMBER or not data.user:
            raise
    hint = {
        "type": "context",
        "elements": [
            {
                "type": "mrkdwn",
                "text": "Updated. Only you can see this card: invite the bot to this channel "
                "(`/invite @ticketbot`) to have cards posted here.",
            }
        ],
    }
    blocks = [*card["blocks"][:49], hint]
    if data.channel:
        try:
            await client.chat_postEphemeral(
                channel=data.channel, user=data.user, text=card["text"], blocks=blocks
            )
            return None
        except SlackApiError as exc:
            if exc.response.get("error") not in NOT_A_MEMBER:
                raise
    await client.chat_postMessage(channel=data.user, text=card["text"], blocks=blocks)  # a direct message
    return None


def account_share(deps: SlackDeps) -> Callable[[Job], str]:
    """The account a job works on, for the worker's fair share between accounts."""

    def share(job: Job) -> str:
        if job.data.get("account"):
            # A bulk update's tickets share apart: they never hold the account's single updates back.
            return str(job.data["account"]) + ("/bulk" if job.data.get("batch") else "")
        account = deps.config.account_for_channel(job.data.get("channel"))
        return account.name if account is not None else ""

    return share


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


async def _tell_failure(
    deps: SlackDeps, client: AsyncWebClient, job: Job, data: JobData, exc: Exception
) -> None:
    """What the user hears when a job fails: their mistake, the tool's refusal (no Retry), or a
    failure a Retry can help (a timeout, a 5xx, a rate limit)."""
    if isinstance(exc, Notice):  # not a problem: said plainly
        await _tell(client, data, str(exc), notice=True)
        return
    if isinstance(exc, ParseError | UserInputError):
        await _tell(client, data, str(exc))
        return
    if isinstance(exc, TrutoError):
        retryable = isinstance(exc, Unavailable | RateLimited)
        retry = await store_for_retry(deps, data) if retryable else None
        what = data.ticket or "The ticket"
        if isinstance(exc, Unavailable):
            # A timeout or a 5xx says nothing about whether the change landed upstream.
            text = (
                f"{what}: the update could not be confirmed. {exc.user_message} "
                "Retry is safe: it cannot apply twice."
            )
        else:
            text = f"{what} was not updated: {exc.user_message}"
        await _tell(client, data, text, retry=retry)
        return
    message = user_message(exc)
    error_id = new_error_id()
    log.error("job %s failed: error %s", job.id, error_id, exc_info=exc)
    text = message or texts.SOMETHING_WENT_WRONG
    await _tell(client, data, text, error_id=error_id)


async def _cause(job: Job, exc: Exception) -> str:
    """Why one ticket of a bulk update failed, in a line."""
    message = user_message(exc)
    if message is not None:
        return message
    error_id = new_error_id()
    log.error("job %s failed: error %s", job.id, error_id, exc_info=exc)
    return f"{texts.SOMETHING_WENT_WRONG} (error {error_id})"


async def _run_batch_item(
    deps: SlackDeps, client: AsyncWebClient, job: Job, data: JobData, account: Account
) -> None:
    """One ticket of a bulk update, within the bulk share of the API budget. Its outcome is
    recorded in the batch before the job is marked finished: a process that dies in between
    leaves the job to be run again (its PATCH cannot apply twice), never a batch without its
    summary. Recording twice is harmless: the summary is shown once."""
    bulk = BULK.set(True)
    try:
        result = await _run_fields(deps, job, data, account)
    except NothingToChange as exc:  # someone set the same values since the batch was planned
        await bulk_progress.record(deps, client, data, "skipped", cause=str(exc))
        await deps.jobs.complete(job)
        return
    except Exception as exc:
        await bulk_progress.failed(deps, client, data, await _cause(job, exc))
        await deps.jobs.complete(job)
        return
    finally:
        BULK.reset(bulk)
    await bulk_progress.done(deps, client, data, result)
    await deps.jobs.complete(job)


async def _run_bulk_command(deps: SlackDeps, client: AsyncWebClient, job: Job, data: JobData) -> None:
    """A bulk `/ticket update`: planned here, then previewed or started as one job per ticket."""
    from handlers import bulk  # handlers.bulk queues jobs through this module

    async def say(message: dict[str, Any]) -> None:
        """To the user alone: through the response_url, or (from a modal) as an ephemeral message."""
        if data.response_url:
            await to_response_url(data.response_url, message)
        elif data.channel and data.user:
            kept = {k: v for k, v in message.items() if k in ("text", "blocks")}
            await client.chat_postEphemeral(channel=data.channel, user=data.user, **kept)

    try:
        await bulk.run_command(deps, client, data, say)
    except Exception as exc:
        if await deps.jobs.complete(job):
            await _tell_failure(deps, client, job, data, exc)
        return
    await deps.jobs.complete(job)


def job_handler(deps: SlackDeps, client: AsyncWebClient) -> Any:
    """The worker's handler: run one job and make sure the user hears how it went."""

    async def handle(job: Job) -> None:
        data, account = _loaded(deps, job)
        bind(
            request_id=data.request_id, user=data.user, channel=data.channel, job=job.id, account=account.name
        )
        noted: list[bool] = []

        async def queued_note(wait: float) -> None:
            """Said once when the update waits for the tool's rate limit; replaced by the card."""
            noted.append(True)
            await _tell(
                client,
                data,
                f"{data.ticket or 'The ticket'}: queued behind {account.display_tool}'s rate limit; "
                f"it will be applied in about {max(1, round(wait))} s.",
                notice=True,
            )

        if data.surface == "bulk" and data.kind == "command":
            await _run_bulk_command(deps, client, job, data)
            return
        if data.kind == "refresh":  # a webhook event: nobody to tell, nothing to apply
            try:
                await live_cards.refresh(deps, client, data, account)
            except Exception:  # the next change of the ticket brings its cards up to date
                log.warning("cards of %s were not brought up to date", data.ticket, exc_info=True)
            await deps.jobs.complete(job)
            return
        run = _run_command if data.kind == "command" else _run_fields
        if data.batch is not None:
            await _run_batch_item(deps, client, job, data, account)
            return
        try:
            with patience.patient(deps.config.settings.job_patience_seconds, queued_note):
                result = await run(deps, job, data, account)
        except Exception as exc:
            if await deps.jobs.complete(job):  # only the run that finishes the job tells
                await _tell_failure(deps, client, job, data, exc)
            return
        if not await deps.jobs.complete(job):
            log.info("job %s was finished by another worker; its outcome is not told twice", job.id)
            return
        if noted and data.response_url:
            await to_response_url(data.response_url, {"delete_original": True})  # the queued note
        await _deliver(deps, client, data, result)

    return handle


def dropped_job_handler(deps: SlackDeps, client: AsyncWebClient) -> Any:
    """Tell the user of a job given up after too many deliveries, with Retry: nobody knows
    whether the change landed, and a retry cannot apply it twice."""

    async def dropped(job: Job) -> None:
        data, _ = _loaded(deps, job)
        retry = await store_for_retry(deps, data)
        what = data.ticket or "The ticket"
        text = (
            f"{what}: the update could not be completed (it was tried {MAX_DELIVERIES} times); "
            "it may not have been applied. Retry is safe: it cannot apply twice."
        )
        await _tell(client, data, text, retry=retry)

    return dropped
