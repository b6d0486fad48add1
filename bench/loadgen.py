"""A lean HTTP/1.1 load generator: one keep-alive connection per concurrent caller, requests
written as bytes and responses read by Content-Length. A general-purpose client (httpx) costs
the generator about a millisecond of CPU per request and queues callers in its connection pool;
on a two-core machine shared with the server that time shows up as server latency."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from urllib.parse import urlsplit

Request = tuple[str, dict[str, str]]  # (body, headers)


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, host: str) -> None:
        self.reader, self.writer, self.host = reader, writer, host

    async def post(self, path: str, body: str, headers: dict[str, str]) -> tuple[int, bytes]:
        data = body.encode()
        head = [f"POST {path} HTTP/1.1", f"Host: {self.host}", f"Content-Length: {len(data)}"]
        head += [f"{k}: {v}" for k, v in headers.items()]
        self.writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data)
        status_line = await self.reader.readline()
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        content = await self.reader.readexactly(length) if length else b""
        return int(status_line.split()[1]), content

    def close(self) -> None:
        self.writer.close()


async def connect(url: str) -> tuple[Connection, str]:
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    return Connection(reader, writer, parts.netloc), parts.path


async def load(
    url: str,
    concurrency: int,
    total: int,
    make: Callable[[int], Request],
    check: Callable[[int, bytes], None] | None = None,
    deadline: float = 120.0,
) -> list[float]:
    """Send `total` requests from `concurrency` callers, each on its own connection; the
    seconds from writing each request to reading its whole response, by request number."""
    latencies = [0.0] * total
    numbers = iter(range(total))

    async def caller() -> None:
        connection, path = await connect(url)
        try:
            for n in numbers:
                body, headers = make(n)
                started = time.perf_counter()
                status, content = await connection.post(path, body, headers)
                latencies[n] = time.perf_counter() - started
                if check is not None:
                    check(status, content)
                elif status != 200:
                    raise AssertionError(f"HTTP {status}: {content[:200]!r}")
        finally:
            connection.close()

    try:
        # One deadline for the whole load (none per request: it would add to every latency), so
        # a server that stops answering fails the bench with a reason instead of hanging it.
        await asyncio.wait_for(asyncio.gather(*(caller() for _ in range(concurrency))), deadline)
    except TimeoutError:
        answered = sum(1 for seconds in latencies if seconds)
        raise SystemExit(f"{url}: {answered} of {total} requests answered within {deadline:.0f} s") from None
    return latencies
