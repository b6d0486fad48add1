"""A durable job as the queue hands it out, and what a handler may raise about it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

MAX_DELIVERIES = 5  # deliveries without an acknowledgement before a job is given up
Source = Literal["redis", "memory"]  # the stream, or this process (kept while Redis was away)


class NotForThisWorker(Exception):
    """The job is another deployment's (its account is not configured here): neither run nor
    acknowledged, so a worker that has the account takes it."""


class RunAgainLater(Exception):
    """The job could not end now (its outcome could not be recorded): neither acknowledged nor
    finished, so it is reclaimed and run again; what it sent carries its Idempotency-Key."""


class QueueFull(Exception):
    """Redis is away and this process already keeps as many jobs as it may."""


@dataclass(frozen=True)
class Job:
    id: str
    data: dict[str, Any]
    deliveries: int = 1
    source: Source = "redis"
    stream: str = ""  # the stream it came from (this deployment's, or the pre-namespace one)

    @property
    def jid(self) -> str | None:
        """The job's own id (set when it was put), or None for jobs from before leases."""
        jid = self.data.get("jid")
        return jid if isinstance(jid, str) else None


Handler = Callable[[Job], Awaitable[None]]
ShareKey = Callable[[Job], str]
