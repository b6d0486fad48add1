"""Workspaces' last activity: noted per read, written together (one round trip per batch)."""

from __future__ import annotations

import asyncio

import redis.asyncio as aioredis

from bot.store.activity import FLUSH_CHUNK, KEEP_SECONDS, WorkspaceActivity, activity_key


async def test_noted_workspaces_are_written_together_after_the_flush_delay(clean_redis: str) -> None:
    redis = aioredis.Redis.from_url(clean_redis)
    activity = WorkspaceActivity(redis, flush_seconds=0.1)
    for tenant in ("T0ACME", "T0GLOBEX", "T0ACME"):
        activity.note(tenant)
    assert await activity.last("T0ACME") is None  # nothing written per read
    sent: list[int] = []
    execute = aioredis.client.Pipeline.execute

    async def counted(pipe: aioredis.client.Pipeline, raise_on_error: bool = True) -> list[object]:
        sent.append(len(pipe.command_stack))
        return await execute(pipe, raise_on_error)

    aioredis.client.Pipeline.execute = counted  # type: ignore[method-assign]
    try:
        for _ in range(50):
            if await activity.last("T0GLOBEX") is not None:
                break
            await asyncio.sleep(0.02)
    finally:
        aioredis.client.Pipeline.execute = execute  # type: ignore[method-assign]
    assert sent == [2]  # one round trip for both workspaces
    acme, globex = await activity.last("T0ACME"), await activity.last("T0GLOBEX")
    assert acme is not None and globex is not None and acme >= globex
    activity.note("T0INITECH")  # a later note starts the next batch
    await asyncio.sleep(0.25)
    assert await activity.last("T0INITECH") is not None
    await redis.aclose()


async def test_without_redis_nothing_is_noted() -> None:
    activity = WorkspaceActivity(None)
    activity.note("T0ACME")
    await activity.flush()
    assert await activity.last("T0ACME") is None


async def test_a_large_batch_goes_in_chunks_with_requests_served_between_them(clean_redis: str) -> None:
    redis = aioredis.Redis.from_url(clean_redis)
    activity = WorkspaceActivity(redis, flush_seconds=60)
    tenants = [f"T{n:08d}" for n in range(2 * FLUSH_CHUNK + 30)]
    for tenant in tenants:
        activity.note(tenant)
    sent: list[int] = []
    execute = aioredis.client.Pipeline.execute

    async def counted(pipe: aioredis.client.Pipeline, raise_on_error: bool = True) -> list[object]:
        sent.append(len(pipe.command_stack))
        return await execute(pipe, raise_on_error)

    # What a request running beside the flush sees: it gets the event loop while the flush is
    # under way (some written, not all).
    seen: list[int] = []

    async def beside() -> None:
        while not sent or sum(sent) < len(tenants):
            seen.append(sum(sent))
            await asyncio.sleep(0)

    aioredis.client.Pipeline.execute = counted  # type: ignore[method-assign]
    try:
        await asyncio.gather(activity.flush(), beside())
    finally:
        aioredis.client.Pipeline.execute = execute  # type: ignore[method-assign]
    assert sent == [FLUSH_CHUNK, FLUSH_CHUNK, 30]
    assert any(0 < n < len(tenants) for n in seen)
    assert [await activity.last(t) is not None for t in (tenants[0], tenants[-1])] == [True, True]
    assert 0 < await redis.ttl(activity_key(tenants[-1])) <= KEEP_SECONDS
    await redis.aclose()
