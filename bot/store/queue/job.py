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


class OverQuota(Exception):
    """The user is past their quota this minute (counted in the job's own write): nothing queued."""


@dataclass(frozen=True)
class Gate:
    """Checks made in the same round trip as the job's write (the fast ack of a command), each on
    a key in the job stream's hash slot (keys.jobs_key).

    `replay`: the signed request's marker; a request seen before writes nothing (None is
    returned, as for a repeat). `quota`: the user's counter this minute; past `quota_limit`,
    OverQuota and nothing written. `local_quota`: the count while Redis does not answer."""

    replay: str
    replay_ttl: float
    quota: str | None = None
    quota_limit: int = 0
    quota_window: int = 120
    local_quota: Callable[[], bool] | None = None


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
