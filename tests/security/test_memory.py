"""Nobody anonymous holds memory: clients that send most of a 1 MiB body and stall, hundreds at
once, against a real `ticketbot serve`. Before the budget for unverified bodies, 300 of them
took the process from about 114 to 400 MB and held it for the 10 s read timeout; 100 on the
webhook route added 105 MB. Now the budget (16 MiB), the per-address cap (64 connections) and
the body deadline (3 s) bound it, and a signed request from another address is answered."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from tests.conftest import JIRA_CHANNEL
from tests.handlers.payloads import sign, slash_command
from tests.security.serving import Served, start_serve, stop_serve

pytestmark = pytest.mark.process

MIB = 1024 * 1024
ATTACKER = "127.0.0.1"
SLACK_APP = "127.0.0.2"  # Linux answers all of 127/8 on loopback: another client address


@pytest.fixture
def serve(sandbox: SandboxServer, fake_slack: FakeSlack) -> Iterator[Served]:
    served = start_serve(sandbox, fake_slack, TRUTO_WEBHOOK_SECRET="attack-test-secret")
    yield served
    stop_serve(served)


async def stall(port: int, path: str, connections: int, hold: float) -> list[bytes]:
    """Each connection declares 1 MiB, sends all of it but 16 bytes, and waits; what each got."""
    head = (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {MIB}\r\n\r\n"
    ).encode()
    body = b"{" + b"a" * (MIB - 17)

    async def one() -> bytes:
        try:
            reader, writer = await asyncio.open_connection(ATTACKER, port)
        except OSError:
            return b"refused"
        writer.write(head + body)  # no drain: the transport buffers what the server does not read
        try:
            return await asyncio.wait_for(reader.read(64), hold)
        except (TimeoutError, ConnectionError):
            return b""
        finally:
            writer.transport.abort()

    return await asyncio.gather(*(one() for _ in range(connections)))


def signed_from_elsewhere(serve: Served) -> int:
    body = slash_command("help", JIRA_CHANNEL, "http://127.0.0.1:9/commands/T0/1/x")
    transport = httpx.HTTPTransport(local_address=SLACK_APP)
    with httpx.Client(transport=transport, timeout=5) as http:
        response = http.post(
            f"{serve.url}/slack/events",
            content=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)},
        )
    return response.status_code


@pytest.mark.parametrize(("path", "connections"), [("/slack/events", 300), ("/truto/webhooks", 100)])
def test_stalled_unverified_bodies_hold_at_most_the_budget(
    serve: Served, path: str, connections: int
) -> None:
    before = serve.peak_rss_mib()
    answered: list[int] = []

    async def attack_and_ask() -> list[bytes]:
        attack = asyncio.create_task(stall(serve.port, path, connections, hold=5.0))
        await asyncio.sleep(1.0)  # the attack is in full swing
        answered.append(await asyncio.to_thread(signed_from_elsewhere, serve))
        return await attack

    started = time.monotonic()
    answers = asyncio.run(attack_and_ask())
    growth = serve.peak_rss_mib() - before
    assert growth <= 32, f"the process grew {growth:.0f} MiB"
    assert answered == [200]  # the Slack app, from another address, is still served
    busy = sum(a.startswith(b"HTTP/1.1 503") for a in answers)
    assert busy >= connections - 64 - 16  # past the address cap or the budget: 503 at once
    assert time.monotonic() - started < 10
