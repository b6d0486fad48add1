"""POST /truto/webhooks under attack, over real loopback HTTP: nothing happens for a delivery
whose signature does not verify, for an old one replayed, or for the same event twice."""

from __future__ import annotations

import asyncio
import logging
import socket
import time

import pytest

from tests.scenarios.conftest import Harness
from tests.scenarios.payloads import record_event, sign_truto
from tests.security.conftest import bot_keys, nothing_happened
from tests.security.test_unsigned import quiet

BODY = record_event("updated", "PROJ-42")


async def deliver(harness: Harness, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    response = await harness.http.post("/truto/webhooks", content=body, headers=headers)
    await harness.bot.worker.drain()
    return response.status_code, response.text


FORGED = {
    "no signature": {"Content-Type": "application/json"},
    "another secret": sign_truto(BODY, "not-the-secret"),
    "another body's signature": sign_truto(record_event("updated", "PROJ-41")),
    "no v=": {"X-Truto-Signature": "format=sha256"},
    "sha1": {"X-Truto-Signature": "format=sha1,v=" + "0" * 40},
    "junk": {"X-Truto-Signature": "format=sha256,v=" + "x" * 600},
}


@pytest.mark.parametrize("name", list(FORGED))
async def test_an_unverified_delivery_gets_401_and_does_nothing(
    edge: Harness, clean_redis: str, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    caplog.set_level(logging.DEBUG)
    before = bot_keys(clean_redis)
    assert await deliver(edge, BODY, FORGED[name]) == (401, "invalid signature")
    nothing_happened(edge)
    assert bot_keys(clean_redis) == before  # not even a replay marker
    quiet(caplog, "PROJ-42")


async def test_a_tampered_body_does_not_verify(edge: Harness, clean_redis: str) -> None:
    headers = sign_truto(BODY)
    tampered = BODY.replace(b"PROJ-42", b"PROJ-41")
    assert (await deliver(edge, tampered, headers))[0] == 401
    nothing_happened(edge)


@pytest.mark.parametrize("minutes", [-10, 10])
async def test_an_old_or_future_event_is_refused_even_when_signed(edge: Harness, minutes: int) -> None:
    """Refused, but answered 2xx: a 4xx would make the API retry it, and, failing again and
    again, deactivate the webhook. Only a bad signature gets 401."""
    await edge.command("PROJ-42 priority=high")  # a card that would follow the ticket
    edge.reset_counts()
    when = time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(time.time() - minutes * 60))
    body = record_event("updated", "PROJ-42", created_at=when)
    assert await deliver(edge, body, sign_truto(body)) == (200, "ignored: stale or undated event")
    nothing_happened(edge)


async def test_the_same_event_replayed_is_handled_once(edge: Harness) -> None:
    await edge.command("PROJ-42 priority=high")
    edge.reset_counts()
    edge.sandbox.state.profiles["sandbox-jira"].tickets["PROJ-42"]["status"] = {"id": "js4", "name": "Done"}
    body = record_event("updated", "PROJ-42")
    assert await deliver(edge, body, sign_truto(body)) == (200, "queued")
    assert await deliver(edge, body, sign_truto(body)) == (200, "duplicate")
    assert len(edge.calls("chat.update")) == 1
    assert len(edge.sandbox.state.calls("GET")) == 1


async def raw_post(harness: Harness, head: bytes, chunks: list[bytes]) -> bytes:
    """Send a request by hand (a declared length, or chunks) and read the start of the answer.
    A blocking socket on a thread: the kernel keeps the answer readable after the server resets
    the connection for the body it did not read (asyncio's stream reader would drop it)."""
    port = int(str(harness.http.base_url).rsplit(":", 1)[1].rstrip("/"))

    def exchange() -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
            conn.sendall(head)
            try:
                for chunk in chunks:
                    conn.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the server stopped reading: its answer is already there
            return conn.recv(200)

    return await asyncio.to_thread(exchange)


async def test_a_body_past_the_limit_is_refused_before_it_is_read(edge: Harness) -> None:
    declared = (
        b"POST /truto/webhooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 104857600\r\n\r\n"
    )
    assert (await raw_post(edge, declared, [b"{}"])).startswith(b"HTTP/1.1 413")
    chunked = (
        b"POST /truto/webhooks HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    block = b"a" * 65536
    chunks = [f"{len(block):x}\r\n".encode() + block + b"\r\n"] * 64  # 4 MiB, no length said
    assert (await raw_post(edge, chunked, chunks)).startswith(b"HTTP/1.1 413")
    nothing_happened(edge)


async def test_signed_junk_is_a_2xx_that_does_nothing_and_logs_no_traceback(
    edge: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for junk in (b"\xff\xfe", b"[]", b'{"event": "record:updated"}', b""):
        assert await deliver(edge, junk, sign_truto(junk)) == (200, "ignored: not a webhook delivery")
    nothing_happened(edge)
    quiet(caplog)


async def test_an_event_for_an_account_not_configured_here_changes_nothing(
    edge: Harness, clean_redis: str
) -> None:
    before = bot_keys(clean_redis)
    body = record_event("deleted", "PROJ-42", account="another-customers-account")
    assert await deliver(edge, body, sign_truto(body)) == (200, "ignored: not an account of ours")
    nothing_happened(edge)
    assert bot_keys(clean_redis) == before
