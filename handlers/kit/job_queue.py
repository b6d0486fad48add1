"""Putting durable jobs on the queue (before the ack) and keeping them for a Retry button."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from bot.domain.errors import UserInputError
from bot.store.queue import Gate, Job, QueueFull
from handlers.kit import texts
from handlers.kit.deps import SlackDeps
from handlers.kit.job_data import JobData

log = logging.getLogger(__name__)


BUSY = texts.BUSY


class Busy(UserInputError):
    """The job could not be kept anywhere; the user is told to try again."""

    def __init__(self) -> None:
        super().__init__(BUSY)


async def put_job(
    deps: SlackDeps,
    data: JobData,
    *,
    once: str | None = None,
    once_ttl: float = 3600.0,
    gate: Gate | None = None,
) -> Job | None:
    if deps.tenant is not None:  # distributed mode: the job runs for this workspace only
        data = data.model_copy(update={"tenant": deps.tenant})
    try:
        return await deps.jobs.put(data.to_json(), once=once, once_ttl=once_ttl, gate=gate)
    except QueueFull:
        log.warning("job refused: the in-process queue is full while Redis is away")
        raise Busy() from None


async def enqueue(
    deps: SlackDeps, data: JobData, *, dedupe: str, dedupe_ttl: float = 3600.0, gate: Gate | None = None
) -> bool:
    """Write the job before the ack; a repeat of the same request (Slack retry, double click) is
    dropped. Returns False for a repeat (or, through a `gate`, a replay); Busy when it cannot be
    kept; OverQuota past the gate's quota."""
    if await put_job(deps, data, once=dedupe, once_ttl=dedupe_ttl, gate=gate) is None:
        log.info("duplicate delivery %s dropped", dedupe[:12])
        return False
    return True


async def enqueue_bulk_plan(deps: SlackDeps, data: JobData, *, dedupe: str, tickets: int) -> bool:
    """A bulk `/ticket update`, before the ack: it costs the user's quota one request per ticket
    it reads (the request itself counted one), and a user has at most one plan in flight; either
    refusal is answered at once (UserInputError) and nothing is queued."""
    if not await deps.begin_bulk_plan(data.team, data.user):
        raise UserInputError(texts.BULK_PLAN_IN_FLIGHT)
    try:
        quota = deps.quota
        if quota is not None and not await quota.allow(data.team, data.user, cost=max(0, tickets - 1)):
            raise UserInputError(texts.bulk_over_quota(tickets, quota.per_minute))
        return await enqueue(deps, data, dedupe=dedupe)
    except BaseException:
        await deps.end_bulk_plan(data.team, data.user)
        raise


async def store_for_retry(deps: SlackDeps, data: JobData) -> str:
    """Keep a job for its Retry button; returns the signed button value."""
    return await deps.retries.put(data.to_json(), ttl=deps.retry_ttl)


async def take_stored(deps: SlackDeps, value: str | None) -> dict[str, Any] | None:
    """The job behind a Retry button, once (a second click finds nothing)."""
    held = await deps.retries.take(value)
    return held.value if held is not None else None


def account_share(deps: SlackDeps) -> Callable[[Job], str]:
    """The account a job works on, for the worker's fair share between accounts; in distributed
    mode the workspace (a workspace's flood leaves room for the others, whatever its accounts)."""

    def share(job: Job) -> str:
        # A bulk update, its planning (50 reads) as much as its tickets, shares apart: it never
        # holds the account's (or the workspace's) single updates back.
        bulk = "/bulk" if job.data.get("batch") or job.data.get("surface") == "bulk" else ""
        if job.data.get("tenant"):
            return f"tenant:{job.data['tenant']}{bulk}"
        if job.data.get("account"):
            return str(job.data["account"]) + bulk
        account = deps.config.account_for_channel(job.data.get("channel"))
        return account.name if account is not None else ""

    return share
