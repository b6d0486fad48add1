"""A bulk update's state: what each ticket's end says to show on the batch's message."""

from __future__ import annotations

import asyncio

import pytest

from bot.domain.batch import Batch, BatchItem
from bot.store import keys
from bot.store.batches import BatchStore
from bot.store.cache import Cache, LockBusy


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def batch(count: int) -> Batch:
    return Batch(
        id="b1", items=[BatchItem(account="jira", ticket=f"P-{n}", ref=f"P-{n}") for n in range(count)]
    )


async def test_progress_at_most_once_a_second_then_the_summary(cache: Cache) -> None:
    clock = Clock()
    store = BatchStore(cache.backend, clock)
    await store.put(batch(4))
    said = []
    for n, delay in enumerate((0.0, 0.3, 0.9, 0.1)):
        clock.now += delay
        state = "failed" if n == 2 else "done"
        _, what = await store.record("b1", "jira", f"P-{n}", state, cause="HTTP 500" if n == 2 else "")
        said.append(what)
    assert said == ["progress", None, "progress", "summary"]
    final = await store.get("b1")
    assert final is not None and (final.count("done"), final.count("failed")) == (3, 1)
    # A job run again after its process died records again: the summary is shown again.
    assert (await store.record("b1", "jira", "P-3", "done"))[1] == "summary"


async def test_retry_reopens_the_failed_tickets_only(cache: Cache) -> None:
    store = BatchStore(cache.backend, Clock())
    await store.put(batch(2))
    await store.record("b1", "jira", "P-0", "done")
    await store.record("b1", "jira", "P-1", "failed", cause="timeout")
    reopened = await store.reopen("b1", {("jira", "P-0"), ("jira", "P-1")})
    assert reopened is not None
    assert [(i.state, i.cause) for i in reopened.items] == [("done", ""), ("pending", "")]
    assert not reopened.finished


async def test_an_unknown_batch_records_nothing(cache: Cache) -> None:
    store = BatchStore(cache.backend, Clock())
    assert await store.record("nope", "jira", "P-0", "done") == (None, None)


async def test_a_lock_left_by_a_killed_process_delays_the_records_but_loses_none(cache: Cache) -> None:
    store = BatchStore(cache.backend, Clock(), lock_for=1.2)
    await store.put(batch(3))
    # The process that held the batch's lock was killed: the lock stays until it expires.
    assert await cache.backend.try_lock(keys.key("batch", "b1") + ":lock", 1.2) is not None
    said = await asyncio.gather(*(store.record("b1", "jira", f"P-{n}", "done") for n in range(3)))
    final = await store.get("b1")
    assert final is not None and final.count("done") == 3  # no write lost to the others
    assert [what for _, what in said].count("summary") == 1


async def test_a_batch_lock_never_taken_raises_rather_than_write_without_it(cache: Cache) -> None:
    store = BatchStore(cache.backend, Clock(), lock_for=0.2)
    await store.put(batch(1))
    assert await cache.backend.try_lock(keys.key("batch", "b1") + ":lock", 5.0) is not None  # a live holder
    with pytest.raises(LockBusy):
        await store.record("b1", "jira", "P-0", "done")
    final = await store.get("b1")
    assert final is not None and final.items[0].state == "pending"
