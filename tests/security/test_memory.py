"""Nobody anonymous holds memory: clients that send most of a 1 MiB body and stall, hundreds at
once, against a real `ticketbot serve`. Before the budget for unverified bodies, 300 of them
took the process from about 114 to 400 MB and held it for the 10 s read timeout; 100 on the
webhook route added 105 MB. Now the budget (12 MiB) and the body deadline (3 s) bound it, and
Slack's own requests are answered, from another address or from the same one (behind a proxy
every request has one address: a cap per address refused 16 of 80 concurrent commands)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import httpx
import pytest

from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from tests.conftest import JIRA_CHANNEL
from tests.scenarios.payloads import sign, slash_command
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
    assert busy >= connections - 16  # past the budget: 503 at once
    assert time.monotonic() - started < 10


def signed_commands(serve: Served, count: int, source: str = ATTACKER) -> list[int]:
    """`count` signed /ticket commands at once, all from `source`: their statuses."""
    body = slash_command("help", JIRA_CHANNEL, "http://127.0.0.1:9/commands/T0/1/x")

    async def burst() -> list[int]:
        limits = httpx.Limits(max_connections=count)
        transport = httpx.AsyncHTTPTransport(local_address=source, limits=limits)
        async with httpx.AsyncClient(transport=transport, timeout=10) as http:

            async def one() -> int:
                headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
                return (
                    await http.post(f"{serve.url}/slack/events", content=body, headers=headers)
                ).status_code

            return list(await asyncio.gather(*(one() for _ in range(count))))

    return asyncio.run(burst())


def test_a_burst_of_slacks_requests_through_one_address_is_acked(serve: Served) -> None:
    """80 concurrent signed commands from one address (a proxy's): every one acked."""
    assert signed_commands(serve, 80) == [200] * 80


def test_slacks_burst_through_the_attackers_address_is_served_while_bodies_stall(serve: Served) -> None:
    """300 stalled unsigned 1 MiB bodies and 200 signed commands, all from one address."""
    before = serve.peak_rss_mib()
    statuses: list[int] = []

    async def attack_and_burst() -> list[bytes]:
        attack = asyncio.create_task(stall(serve.port, "/slack/events", 300, hold=6.0))
        await asyncio.sleep(1.0)
        statuses.extend(await asyncio.to_thread(signed_commands, serve, 200))
        return await attack

    answers = asyncio.run(attack_and_burst())
    growth = serve.peak_rss_mib() - before
    assert statuses == [200] * 200
    assert sum(a.startswith(b"HTTP/1.1 503") for a in answers) >= 300 - 16
    assert growth <= 20, f"the process grew {growth:.0f} MiB"


async def _stalled_via(port: int, source: str, forwarded_for: str | None) -> asyncio.StreamWriter:
    """A request from `source` (naming `forwarded_for` as its client) whose body never ends."""
    _, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    via = f"X-Forwarded-For: {forwarded_for}\r\n" if forwarded_for else ""
    writer.write(f"POST /slack/events HTTP/1.1\r\nHost: x\r\n{via}Content-Length: 100\r\n\r\n{{".encode())
    await writer.drain()
    return writer


@pytest.fixture
def capped(sandbox: SandboxServer, fake_slack: FakeSlack) -> Iterator[Served]:
    served = start_serve(
        sandbox, fake_slack, HTTP_MAX_CONNECTIONS_PER_CLIENT="2", FORWARDED_ALLOW_IPS="127.0.0.1"
    )
    yield served
    stop_serve(served)


def test_a_cap_per_client_counts_the_client_a_trusted_proxy_names(capped: Served) -> None:
    """Through the trusted proxy (127.0.0.1) each client its X-Forwarded-For names has its own
    cap; from anywhere else the header names nobody and the address is counted."""

    async def scenario() -> tuple[list[int], list[int]]:
        held = [await _stalled_via(capped.port, ATTACKER, "203.0.113.9") for _ in range(2)]
        held += [await _stalled_via(capped.port, SLACK_APP, f"198.51.100.{n}") for n in range(2)]
        await asyncio.sleep(0.3)
        through_proxy = [
            await asyncio.to_thread(_status, capped, ATTACKER, "203.0.113.9"),  # its cap: 2 in flight
            await asyncio.to_thread(_status, capped, ATTACKER, "203.0.113.10"),  # another client
        ]
        direct = [
            await asyncio.to_thread(_status, capped, SLACK_APP, "203.0.113.11"),  # header ignored
        ]
        for writer in held:
            writer.transport.abort()
        return through_proxy, direct

    through_proxy, direct = asyncio.run(scenario())
    assert through_proxy == [503, 200]
    assert direct == [503]  # 127.0.0.2 already holds its two connections, whatever it claims


def _status(serve: Served, source: str, forwarded_for: str) -> int:
    body = slash_command("help", JIRA_CHANNEL, "http://127.0.0.1:9/commands/T0/1/x")
    transport = httpx.HTTPTransport(local_address=source)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "X-Forwarded-For": forwarded_for}
    with httpx.Client(transport=transport, timeout=5) as http:
        try:
            response = http.post(f"{serve.url}/slack/events", content=body, headers={**headers, **sign(body)})
        except httpx.HTTPError:
            return 503  # closed with the 503 before the request was read
    return response.status_code
