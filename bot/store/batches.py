"""A bulk update's state: its tickets, how each went, and where its one message is in Slack.

Each ticket is a durable job of its own; each job, when it ends, records its outcome here
and learns whether it should edit the batch's message: progress at most once per `EDIT_EVERY`
seconds, and the summary by the job that ends the batch. Records are written under a lock that
must be held: a write lost to a race would leave a ticket pending and the batch without its
summary forever (a lock whose holder was killed expires, then is taken). A job run again after
its process died records again and shows the summary again (the same message, edited once
more): a summary is never lost to a crash between recording it and showing it.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from bot.domain.batch import Batch, State
from bot.store import keys
from bot.store.cache import LOCK_SECONDS, Backend, locked_update

KEEP_FOR = 2 * 86400.0  # a batch's state outlives its Undo and Retry buttons
EDIT_EVERY = 1.0  # seconds between progress edits of the batch's message


class BatchStore:
    def __init__(self, backend: Backend, clock: Any = time.time, lock_for: float = LOCK_SECONDS) -> None:
        self.backend = backend
        self.clock = clock
        self.lock_for = lock_for

    async def _update(self, batch_id: str, change: Any) -> Any:
        """Under the batch's lock, waited for past a dead holder's expiry; LockBusy (the job is
        run again later) rather than a write without it."""
        return await locked_update(
            self.backend,
            self._key(batch_id),
            change,
            wait=self.lock_for + 1.0,
            lock_for=self.lock_for,
            required=True,
        )

    @staticmethod
    def _key(batch_id: str) -> str:
        return keys.key("batch", batch_id)

    async def put(self, batch: Batch) -> None:
        await self._update(batch.id, lambda _: (batch.model_dump(), KEEP_FOR))

    async def get(self, batch_id: str) -> Batch | None:
        entry = await self.backend.get(self._key(batch_id))
        return Batch.model_validate(entry.value) if entry is not None else None

    async def record(
        self, batch_id: str, account: str, ticket: str, state: State, **fields: Any
    ) -> tuple[Batch | None, Literal["progress", "summary"] | None]:
        """Record one ticket's outcome. Returns the batch and what its message should show now:
        the summary (when no ticket is left pending), progress (at most once a second), or
        nothing."""
        said: list[Literal["progress", "summary"] | None] = [None]

        def change(raw: Any) -> tuple[Any, float]:
            if raw is None:
                return None, 0.0
            batch = Batch.model_validate(raw)
            item = batch.item(account, ticket)
            if item is not None:
                item.state = state
                for name, value in fields.items():
                    setattr(item, name, value)
            now = self.clock()
            if batch.finished:
                said[0] = "summary"
            elif not batch.finished and now - batch.last_edit >= EDIT_EVERY:
                batch.last_edit = now
                said[0] = "progress"
            return batch.model_dump(), KEEP_FOR

        raw = await self._update(batch_id, change)
        return (Batch.model_validate(raw) if raw is not None else None), said[0]

    async def reopen(self, batch_id: str, tickets: set[tuple[str, str]]) -> Batch | None:
        """Failed tickets put back to pending (Retry): the batch is summarised again after them."""

        def change(raw: Any) -> tuple[Any, float]:
            if raw is None:
                return None, 0.0
            batch = Batch.model_validate(raw)
            for item in batch.items:
                if (item.account, item.ticket) in tickets and item.state == "failed":
                    item.state, item.cause = "pending", ""
            return batch.model_dump(), KEEP_FOR

        raw = await self._update(batch_id, change)
        return Batch.model_validate(raw) if raw is not None else None
