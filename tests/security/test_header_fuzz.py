"""Every header either receiver reads, fed hostile values: bytes that are not ASCII, control
characters, separators, huge and empty values. Each is answered (never 500), nothing above INFO
is logged, no traceback, and nothing happens. Before, a non-ASCII X-Truto-Signature raised in
the comparison: a 500 and an ERROR traceback per request (1.5 MB of logs from 500 requests)."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import random
import socket

import pytest

from tests.scenarios.conftest import Harness
from tests.scenarios.payloads import WEBHOOK_SECRET, record_event, sign, sign_truto, slash_command
from tests.security.conftest import nothing_happened
from tests.security.test_unsigned import quiet

BODY = record_event("updated", "PROJ-42")


def hostile_values(seed: int, count: int = 12) -> list[bytes]:
    """Fixed nasty values, then random bytes of the whole latin-1 range (how headers are read)."""
    rng = random.Random(seed)
    fixed = [
        b"",
        b" ",
        b"\xe9\xe8\xff",
        "format=sha256,v=é".encode("latin-1"),
        b"format=sha256,v=" + b"\x80" * 64,
        b"=,=,=,",
        b"format=,v=",
        b"v=" + b"A" * 400,
        b"\t" * 10,
        b"99999999999999999999999",
        b"-1",
        b"1e9",
    ]
    allowed = bytes(b for b in range(256) if b not in (0x0A, 0x0D, 0x00))
    return fixed + [bytes(rng.choice(allowed) for _ in range(rng.randint(1, 80))) for _ in range(count)]


TRUTO_HEADERS = ("X-Truto-Signature", "Content-Type", "Content-Length")
ANSWERED = (400, 401, 408, 413, None)  # None: uvicorn's parser closed a request it cannot read


async def raw_request(
    harness: Harness, path: str, headers: dict[str, str | bytes], body: bytes
) -> int | None:
    """Headers as bytes on a socket (httpx refuses to send most of these); the status, if any."""
    port = int(str(harness.http.base_url).rsplit(":", 1)[1].rstrip("/"))
    fields = {"Host": "x", "Content-Length": str(len(body)), **headers}
    head = f"POST {path} HTTP/1.1\r\n".encode()
    for name, value in fields.items():
        head += name.encode() + b": " + (value if isinstance(value, bytes) else value.encode()) + b"\r\n"

    def exchange() -> int | None:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            try:
                conn.sendall(head + b"\r\n" + body)
                answer = conn.recv(200)
            except (BrokenPipeError, ConnectionResetError):
                return None
        return int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/1.1 ") else None

    return await asyncio.to_thread(exchange)


SLACK_HEADERS = ("X-Slack-Signature", "X-Slack-Request-Timestamp", "Content-Type", "X-Slack-Retry-Num")


@pytest.mark.parametrize("header", TRUTO_HEADERS)
async def test_hostile_headers_to_the_webhook_receiver(
    edge: Harness, caplog: pytest.LogCaptureFixture, header: str
) -> None:
    caplog.set_level(logging.DEBUG)
    for value in hostile_values(hash(header) % 1000):
        headers: dict[str, str | bytes] = {**sign_truto(BODY, "another-secret"), header: value}
        status = await raw_request(edge, "/truto/webhooks", headers, BODY)
        assert status in ANSWERED, (header, value, status)
    await edge.bot.worker.drain()
    nothing_happened(edge)
    quiet(caplog)


@pytest.mark.parametrize("header", SLACK_HEADERS)
async def test_hostile_headers_to_the_slack_route(
    edge: Harness, caplog: pytest.LogCaptureFixture, header: str
) -> None:
    caplog.set_level(logging.DEBUG)
    body = slash_command("PROJ-42 priority=high", "C0JIRA", "http://127.0.0.1:9/commands/T0/1/x")
    for value in hostile_values(hash(header) % 1000):
        headers: dict[str, str | bytes] = {
            "Content-Type": "application/x-www-form-urlencoded",
            **sign(body, "another-secret"),
            header: value,
        }
        status = await raw_request(edge, "/slack/events", headers, body.encode())
        assert status in ANSWERED, (header, value, status)
    await edge.bot.worker.drain()
    nothing_happened(edge)
    quiet(caplog)


@pytest.mark.parametrize("spelling", ["lowercase hex", "uppercase hex", "base64"])
async def test_the_same_digest_in_any_common_spelling_verifies(edge: Harness, spelling: str) -> None:
    digest = hmac.new(WEBHOOK_SECRET.encode(), BODY, hashlib.sha256).digest()
    value = {
        "lowercase hex": digest.hex(),
        "uppercase hex": digest.hex().upper(),
        "base64": base64.b64encode(digest).decode(),
    }[spelling]
    headers = {"Content-Type": "application/json", "X-Truto-Signature": f"format=sha256,v={value}"}
    response = await edge.http.post("/truto/webhooks", content=BODY, headers=headers)
    assert response.status_code != 401
