"""uvicorn's HTTP protocol with a deadline for a request's head and a cap per client address.

uvicorn times out idle keep-alive connections, but not a connection that trickles its request
line and headers a byte at a time: hundreds of those would hold every connection slot. Here a
request's head must arrive within `head_timeout` seconds of its first byte (or of the
connection), else the connection is closed. The body has its own deadline (bot/slack/bodies.py).

One client address holds at most `per_client` connections at once (0: no cap); a connection
past that is answered 503 and closed before anything of it is read, so one host cannot take
every connection slot, or the budget for unverified bodies, from everyone else.
"""

from __future__ import annotations

import asyncio
import collections
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from bot.ops.metrics import CONNECTIONS_REFUSED, EDGE_REFUSALS

TOO_MANY = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 39\r\n"
    b"Connection: close\r\n\r\ntoo many connections from this address\n"
)


class _MalformedQuietly(logging.Filter):
    """uvicorn logs a WARNING for every request its parser cannot read: anyone could fill the
    logs with them. Such a request is answered 400 by uvicorn and counted here, not logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage() in ("Invalid HTTP request received.", "Unsupported upgrade request."):
            EDGE_REFUSALS.labels("malformed").inc()
            return False
        return True


def with_head_deadline(head_timeout: float, per_client: int = 0) -> type[HttpToolsProtocol]:
    uvicorn_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _MalformedQuietly) for f in uvicorn_log.filters):
        uvicorn_log.addFilter(_MalformedQuietly())
    open_by_client: collections.Counter[str] = collections.Counter()

    class HeadDeadlineProtocol(HttpToolsProtocol):
        _head_timer: asyncio.TimerHandle | None = None
        _client: str | None = None

        def _arm(self) -> None:
            if self._head_timer is None:
                self._head_timer = self.loop.call_later(head_timeout, self._head_too_slow)

        def _disarm(self) -> None:
            if self._head_timer is not None:
                self._head_timer.cancel()
                self._head_timer = None

        def _head_too_slow(self) -> None:
            self._head_timer = None
            if not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            peer = transport.get_extra_info("peername")
            client = str(peer[0]) if isinstance(peer, tuple) and peer else ""
            if per_client and open_by_client[client] >= per_client:
                CONNECTIONS_REFUSED.inc()
                transport.write(TOO_MANY)
                transport.close()
                return
            self._client = client
            open_by_client[client] += 1
            self._arm()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            if self._client is not None:
                open_by_client[self._client] -= 1
                if open_by_client[self._client] <= 0:
                    del open_by_client[self._client]
                self._client = None
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._disarm()  # the keep-alive timeout takes over until the next request begins

    return HeadDeadlineProtocol
