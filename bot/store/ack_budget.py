"""One time budget for the Redis calls made before Slack gets its ack.

Slack gives an app 3 s to acknowledge. Every Redis call on the way to the ack (the replay
marker, the per-user quota, the durable job) draws on one budget set when the request arrives,
so a hung Redis costs the ack at most the budget in all, never a chain of timeouts. Work after
the ack (lazy listeners, jobs) runs outside it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

DEFAULT_SECONDS = 1.0
_DEADLINE: ContextVar[float | None] = ContextVar("ticketbot_ack_deadline", default=None)


def begin(seconds: float = DEFAULT_SECONDS) -> None:
    """Start the budget of the request being handled in this context."""
    _DEADLINE.set(asyncio.get_running_loop().time() + seconds)


def end() -> None:
    """Work after the ack (a lazy listener started from the request) has no ack budget."""
    _DEADLINE.set(None)


def remaining() -> float | None:
    """Seconds left, or None outside a request's ack path."""
    deadline = _DEADLINE.get()
    if deadline is None:
        return None
    return max(0.0, deadline - asyncio.get_running_loop().time())


async def within(awaitable: Awaitable[T]) -> T:
    """Await within what is left of the budget; TimeoutError once it is spent."""
    left = remaining()
    if left is None:
        return await awaitable
    if left <= 0:
        if asyncio.iscoroutine(awaitable):
            awaitable.close()
        raise TimeoutError("ack budget spent")
    # asyncio.timeout, not wait_for: wait_for runs the awaitable as a task of its own, a task
    # and a turn of the event loop more for every Redis call on the ack path.
    async with asyncio.timeout(left):
        return await awaitable
