"""Redis found through Sentinel: a real `redis-server --sentinel` watching a real Redis."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bot.store import keys
from bot.store.queue import JobQueue
from bot.store.redis_client import connect
from tests.redis_server import RedisProcess, free_port

pytestmark = pytest.mark.process


@pytest.fixture
def sentinel(own_redis: RedisProcess, tmp_path: Path) -> Iterator[int]:
    port = free_port()
    config = tmp_path / "sentinel.conf"
    config.write_text(
        f"port {port}\nbind 127.0.0.1\nsentinel monitor ticketbot 127.0.0.1 {own_redis.port} 1\n"
    )
    process = subprocess.Popen(
        ["redis-server", str(config), "--sentinel"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                if redis.Redis(port=port).execute_command("SENTINEL", "get-master-addr-by-name", "ticketbot"):
                    break
            except redis.RedisError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError("the sentinel did not start")
            time.sleep(0.1)
        yield port
    finally:
        process.kill()
        process.wait(timeout=10)


async def test_jobs_through_a_master_found_by_sentinel(sentinel: int) -> None:
    keys.use("sentineltest")
    client = connect("redis:///0", sentinel=f"127.0.0.1:{sentinel}", sentinel_master="ticketbot")
    try:
        queue = JobQueue(client, consumer="s")
        written = await queue.put({"n": 1}, once="s1")
        assert written is not None and written.source == "redis"
        [taken] = await queue.take(1, None)
        assert taken.data["n"] == 1
        await queue.ack(taken)
        assert await client.xlen(keys.jobs_stream()) == 0
    finally:
        await client.aclose()
        keys.use(keys.LEGACY_NAMESPACE)
