"""Synced threads' store, on Redis and in memory: links both ways, the cap per ticket, echo and
posted marks."""

from __future__ import annotations

from bot.domain.threads import ThreadLink
from bot.store.cache import Cache
from bot.store.synced_threads import THREADS_PER_TICKET, SyncedThreads


def link(n: int, ticket: str = "10042") -> ThreadLink:
    return ThreadLink("C0OPS", f"1700000000.{n:06d}", "jira", "ia-jira", ticket, "PROJ-42", "U0ANA", 1.0)


async def test_a_thread_follows_one_ticket_and_a_ticket_keeps_its_newest_threads(cache: Cache) -> None:
    store = SyncedThreads(cache.backend, "T0ACME")
    assert await store.sync(link(1))
    assert not await store.sync(link(1))  # already synced
    assert not await store.sync(link(1, ticket="10043"))  # …with whatever ticket
    assert await store.of_thread("C0OPS", link(1).thread_ts) == link(1)
    for n in range(2, THREADS_PER_TICKET + 3):
        assert await store.sync(link(n))
    kept = await store.of_ticket("ia-jira", "10042")
    assert len(kept) == THREADS_PER_TICKET and kept[-1] == link(THREADS_PER_TICKET + 2)
    assert await store.unsync("C0OPS", link(THREADS_PER_TICKET + 2).thread_ts) == link(THREADS_PER_TICKET + 2)
    assert link(THREADS_PER_TICKET + 2) not in await store.of_ticket("ia-jira", "10042")
    assert await store.unsync("C0OPS", "1.2") is None
    # Another workspace's store does not see this one's threads.
    assert await SyncedThreads(cache.backend, "T0GLOBEX").of_thread("C0OPS", link(1).thread_ts) is None


async def test_marks_tell_the_bots_comments_and_what_was_posted(cache: Cache) -> None:
    store = SyncedThreads(cache.backend, "T0ACME")
    await store.writing("ia-jira", "10042", "Ana (in Slack):   on it")
    assert await store.ours("ia-jira", "10042", "c9", "Ana (in Slack): on it")  # by its text
    assert not await store.ours("ia-jira", "10042", "c9", "Something else")
    await store.wrote("ia-jira", "c10")
    assert await store.ours("ia-jira", "10042", "c10", "edited since")  # by its id
    assert await store.first_post("ia-jira", "c11", "C0OPS", "1.1")
    assert not await store.first_post("ia-jira", "c11", "C0OPS", "1.1")
    assert await store.first_post("ia-jira", "c11", "C0OPS", "1.2")  # another thread
    await store.remember_reply("C0OPS", "1.3", "c12")
    assert await store.comment_of_reply("C0OPS", "1.3") == "c12"
    await store.forget_reply("C0OPS", "1.3")
    assert await store.comment_of_reply("C0OPS", "1.3") is None
    assert not await store.comment_events_heard("ia-jira")
    await store.hear_comment_events("ia-jira")
    assert await store.comment_events_heard("ia-jira")
