"""Finishing a job: its work, then its completion, and only then (by the run that completed it)
telling how it went. A job redelivered or taken over may run twice; its outcome is told once."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.store.queue import Job
from handlers.kit.deps import SlackDeps

log = logging.getLogger(__name__)
Outcome = TypeVar("Outcome")


async def complete_then_tell(
    deps: SlackDeps,
    job: Job,
    work: Awaitable[Outcome],
    told: Callable[[Outcome], Awaitable[None]],
    failed: Callable[[Exception], Awaitable[None]],
) -> None:
    """Run `work`; complete the job; tell its outcome (`told`) or its failure (`failed`) only when
    this run is the one that completed it."""
    try:
        outcome = await work
    except Exception as exc:
        if await deps.jobs.complete(job):
            await failed(exc)
        return
    if not await deps.jobs.complete(job):
        log.info("job %s was finished by another worker; its outcome is not told twice", job.id)
        return
    await told(outcome)
