"""Bounded resources, against a real `ticketbot serve` process: bodies past the limit are
refused without being held in memory, and slow clients cannot hold connections."""

from __future__ import annotations

import concurrent.futures
import socket
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
LIMITS = {"HTTP_READ_TIMEOUT_SECONDS": "1", "HTTP_BODY_TIMEOUT_SECONDS": "1", "HTTP_MAX_CONNECTIONS": "40"}


@pytest.fixture(scope="module")
def serve(sandbox_server: SandboxServer, fake_slack_server: FakeSlack) -> Iterator[Served]:
    """One `serve` for the module's tests: none of them leaves state a later one would see."""
    served = start_serve(sandbox_server, fake_slack_server, **LIMITS)
    yield served
    stop_serve(served)


@pytest.fixture
def fresh_serve(sandbox: SandboxServer, fake_slack: FakeSlack) -> Iterator[Served]:
    """A `serve` of its own, for a test that reads the process's peak memory."""
    served = start_serve(sandbox, fake_slack, **LIMITS)
    yield served
    stop_serve(served)


def post_raw(port: int, head: bytes, body_chunks: Iterator[bytes]) -> bytes:
    """Send a request by hand (chunked bodies, declared lengths) and read what comes back."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(head)
        try:
            for chunk in body_chunks:
                conn.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server stopped reading: the answer is already there
        try:
            return conn.recv(4096)
        except ConnectionResetError:
            return b""


def chunked(total: int, size: int = 256 * 1024) -> Iterator[bytes]:
    block = b"a" * size
    for _ in range(total // size):
        yield f"{size:x}\r\n".encode() + block + b"\r\n"
    yield b"0\r\n\r\n"


def test_a_declared_length_past_the_limit_is_refused_before_reading(serve: Served) -> None:
    head = (
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 104857600\r\n\r\n"
    )
    answer = post_raw(serve.port, head, iter([b"{}"]))
    assert answer.startswith(b"HTTP/1.1 413")


def test_three_chunked_100_mb_bodies_at_once_get_413_and_no_memory(fresh_serve: Served) -> None:
    serve = fresh_serve
    before = serve.peak_rss_mib()
    head = (
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n"
    )
    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: post_raw(serve.port, head, chunked(100 * MIB)), range(3)))
    assert all(a.startswith(b"HTTP/1.1 413") for a in answers), answers
    assert serve.peak_rss_mib() - before < 32  # it was over 900 MiB


def test_trickling_clients_are_cut_off_and_others_are_served(serve: Served) -> None:
    """60 connections sending their head a byte at a time would hold every one of the 40
    connection slots; each is closed when its head is not complete within the read timeout."""
    slow = []
    for _ in range(60):
        conn = socket.create_connection(("127.0.0.1", serve.port), timeout=5)
        conn.sendall(b"P")
        slow.append(conn)
    time.sleep(1.6)
    closed = 0
    for conn in slow:
        try:
            conn.sendall(b"O")
            closed += conn.recv(1) == b""
        except OSError:
            closed += 1
        conn.close()
    assert closed == 60
    body = slash_command("help", JIRA_CHANNEL, "http://127.0.0.1:9/commands/T0/1/x")
    response = httpx.post(
        f"{serve.url}/slack/events",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)},
    )
    assert response.status_code == 200


def test_a_slow_body_gets_408(serve: Served) -> None:
    head = (
        b"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100\r\n\r\n"
    )

    def trickle() -> Iterator[bytes]:
        for _ in range(3):
            yield b"{"
            time.sleep(0.6)

    started = time.monotonic()
    answer = post_raw(serve.port, head, trickle())
    assert answer.startswith(b"HTTP/1.1 408")
    assert time.monotonic() - started < 5
