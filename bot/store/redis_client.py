"""The Redis client, chosen from the settings: one Redis (`redis://`, `rediss://` for TLS,
`unix://`), a Redis Cluster (`REDIS_CLUSTER=true`), or a master found through Sentinel
(`REDIS_SENTINEL=host:port,host:port` and `REDIS_SENTINEL_MASTER`).

Short timeouts: a dead Redis must cost an update milliseconds, not seconds.
"""

from __future__ import annotations

from typing import cast
from urllib.parse import urlparse

import redis.asyncio as aioredis
from redis.asyncio.cluster import RedisCluster
from redis.asyncio.sentinel import Sentinel

CONNECT_TIMEOUT = 0.5
TIMEOUT = 1.0
POOL_WAIT = 5.0  # seconds a command waits for a free pooled connection


def connect(
    url: str,
    *,
    cluster: bool = False,
    sentinel: str | None = None,
    sentinel_master: str = "mymaster",
    max_connections: int = 64,
) -> aioredis.Redis:
    """A client for `url`. A cluster client has the same commands for what the bot uses (single-key
    commands, and scripts whose keys share a hash tag), so it is typed as the plain one."""
    if cluster:
        return cast(
            aioredis.Redis,
            RedisCluster.from_url(url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=TIMEOUT),
        )
    if sentinel:
        nodes = [(host, int(port)) for host, _, port in (node.partition(":") for node in sentinel.split(","))]
        parsed = urlparse(url)
        watcher = Sentinel(  # type: ignore[no-untyped-call,unused-ignore]
            nodes,
            socket_timeout=TIMEOUT,
            sentinel_kwargs={"socket_timeout": TIMEOUT, "socket_connect_timeout": CONNECT_TIMEOUT},
            password=parsed.password,
            db=int((parsed.path or "/0").lstrip("/") or 0),
        )
        master = watcher.master_for(
            sentinel_master, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=TIMEOUT
        )
        return cast(aioredis.Redis, master)
    # A bounded pool that makes a command wait for a free connection (up to POOL_WAIT) instead of
    # opening ever more: a burst (80 Home tabs at once) then queues for Redis rather than failing
    # over to process memory.
    pool = aioredis.BlockingConnectionPool.from_url(
        url,
        max_connections=max_connections,
        timeout=POOL_WAIT,
        socket_connect_timeout=CONNECT_TIMEOUT,
        socket_timeout=TIMEOUT,
    )
    return aioredis.Redis(connection_pool=pool)
