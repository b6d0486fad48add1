"""Durable jobs: the stream (stream.py), the lease protocol that runs each job once (leases.py),
and the worker with its fair shares and drain (worker.py)."""

from bot.store.queue.job import (
    MAX_DELIVERIES,
    Gate,
    Handler,
    Job,
    NotForThisWorker,
    OverQuota,
    QueueFull,
    RunAgainLater,
    ShareKey,
    Source,
)
from bot.store.queue.leases import DONE, Leases, Verdict, lease_key
from bot.store.queue.stream import GROUP, JobQueue
from bot.store.queue.worker import Worker

__all__ = [
    "DONE",
    "GROUP",
    "MAX_DELIVERIES",
    "Gate",
    "Handler",
    "Job",
    "JobQueue",
    "Leases",
    "NotForThisWorker",
    "OverQuota",
    "QueueFull",
    "RunAgainLater",
    "ShareKey",
    "Source",
    "Verdict",
    "Worker",
    "lease_key",
]
