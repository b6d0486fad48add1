"""How long the work at hand may wait for the ticketing API, and who to tell when it does.

A user waiting on a modal can wait seconds; a durable job can wait minutes (a 429's
Retry-After, the account's request budget). The job runner sets a longer patience and a
notice; the API client and the rate limiter read them.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

Notice = Callable[[float], Awaitable[None]]

INTERACTIVE_SECONDS = 10.0
NOTICE_AFTER = 3.0  # seconds: a longer wait is worth telling the user about

_PATIENCE: ContextVar[float] = ContextVar("ticketbot_patience", default=INTERACTIVE_SECONDS)
_NOTICE: ContextVar[Notice | None] = ContextVar("ticketbot_wait_notice", default=None)


def seconds() -> float:
    return _PATIENCE.get()


@contextmanager
def patient(for_seconds: float, notice: Notice | None = None) -> Iterator[None]:
    """Within this block, waits up to `for_seconds` in all; `notice` hears of the first long one."""
    told = False

    async def once(wait: float) -> None:
        nonlocal told
        if notice is not None and not told:
            told = True
            await notice(wait)

    patience_token = _PATIENCE.set(for_seconds)
    notice_token = _NOTICE.set(once)
    try:
        yield
    finally:
        _PATIENCE.reset(patience_token)
        _NOTICE.reset(notice_token)


async def waiting(wait: float) -> None:
    """Say that a wait of `wait` seconds starts (the notice runs once, and only for long waits)."""
    notice = _NOTICE.get()
    if notice is not None and wait >= NOTICE_AFTER:
        await notice(wait)
