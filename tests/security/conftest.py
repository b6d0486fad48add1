"""Attacks over real loopback HTTP: the app behind a real uvicorn server (the same protocol and
limits as `ticketbot serve`), the fake Slack recording every call, the sandbox recording every
API call, a real Redis, and a listener standing in for an attacker's URL."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
import redis
import uvicorn

from bot.ops.config import AppConfig
from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from bot.slack.http_server import serve_options
from handlers.app import build_bot
from tests.redis_server import free_port
from tests.scenarios.conftest import Harness, harness_config


class Attacker:
    """A loopback listener: any request it gets is one the bot should never have sent."""

    def __init__(self) -> None:
        self.requests: list[tuple[str, str]] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                owner.requests.append(("POST", self.path))
                self.send_response(200)
                self.end_headers()

            do_GET = do_POST

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/commands/T0EVIL/1/stolen"


@pytest.fixture
def attacker() -> Iterator[Attacker]:
    listener = Attacker()
    listener.thread.start()
    yield listener
    listener.server.shutdown()


@asynccontextmanager
async def served(config: AppConfig, sandbox: SandboxServer, slack: FakeSlack) -> AsyncIterator[Harness]:
    """The app on a real loopback port, with `serve`'s protocol and limits."""
    bot = build_bot(config)
    core = bot.core
    settings = config.settings
    server = uvicorn.Server(
        uvicorn.Config(
            bot.http_app(redis_ok=core.redis_ok),
            host="127.0.0.1",
            port=free_port(),
            **serve_options(settings, bot.edge.bodies),
            lifespan="off",
            log_level="warning",
        )
    )
    task = asyncio.create_task(server.serve())
    for _ in range(500):
        if server.started:
            break
        await asyncio.sleep(0.01)
    port = server.config.port
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=10) as http:
            yield Harness(http, slack, sandbox, core, bot)
    finally:
        server.should_exit = True
        await task
        await core.aclose()


@pytest.fixture
async def edge(sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str) -> AsyncIterator[Harness]:
    config = harness_config(sandbox, fake_slack, clean_redis, http_read_timeout_seconds=1.0)
    async with served(config, sandbox, fake_slack) as harness:
        await harness.bot.worker.drain()  # the job group exists before any attack is sent
        yield harness


def bot_keys(url: str) -> set[bytes]:
    client = redis.Redis.from_url(url)
    try:
        return set(client.scan_iter("ticketbot:*", count=1000))
    finally:
        client.close()


def nothing_happened(harness: Harness, attacker: Attacker | None = None) -> None:
    assert harness.slack.state.calls == [], "no Slack call"
    assert harness.sandbox.state.calls() == [], "no ticketing API call"
    if attacker is not None:
        assert attacker.requests == [], "no request to the attacker's URL"
