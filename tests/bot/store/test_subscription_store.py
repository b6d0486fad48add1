from __future__ import annotations

import pytest

from bot.domain.subscriptions import Subscription
from bot.store.cache import Cache
from bot.store.subscriptions import LimitReached, SubscriptionStore


def sub(n: int, channel: str = "C1", account: str = "ia-jira") -> Subscription:
    return Subscription(id=f"s{n}", channel=channel, account=account, created_at=float(n))


async def test_added_listed_by_channel_and_removed(cache: Cache) -> None:
    store = SubscriptionStore(cache.backend)
    limits = {"per_channel": 2, "per_workspace": 3, "workspace_accounts": ["ia-jira", "ia-linear"]}
    await store.add(sub(1), **limits)
    await store.add(sub(2, "C2", "ia-linear"), **limits)
    await store.add(sub(3), **limits)
    with pytest.raises(LimitReached, match="this channel has 2 subscriptions"):
        await store.add(sub(4), **limits)
    with pytest.raises(LimitReached, match="this workspace has 3 subscriptions"):
        await store.add(sub(5, "C3"), **limits)
    assert [s.id for s in await store.of_channel("C1", ["ia-jira", "ia-linear"])] == ["s1", "s3"]
    await store.remove(sub(1))
    assert [s.id for s in await store.of_account("ia-jira")] == ["s3"]
    await store.remove(sub(3))
    assert await store.of_account("ia-jira") == []


async def test_a_list_is_parsed_again_only_after_it_was_written(cache: Cache) -> None:
    store = SubscriptionStore(cache.backend)
    limits = {"per_channel": 20, "per_workspace": 500, "workspace_accounts": ["ia-jira"]}
    await store.add(sub(1), **limits)
    first = await store.of_account("ia-jira")
    assert await store.of_account("ia-jira") is first  # the same parsed list
    other = SubscriptionStore(cache.backend)  # another process's write
    await other.add(sub(2), **limits)
    assert [s.id for s in await store.of_account("ia-jira")] == ["s1", "s2"]
