"""uvicorn's HTTP protocol with a deadline for a request's head and a cap per client address.

uvicorn times out idle keep-alive connections, but not a connection that trickles its request
line and headers a byte at a time: hundreds of those would hold every connection slot. Here a
request's head must arrive within `head_timeout` seconds of its first byte (or of the
connection), else the connection is closed. The body has its own deadline (bot/slack/bodies.py).

Where `per_client` is set (off by default: behind a proxy every request has one address, and
a cap by address would refuse Slack's own bursts), one client holds at most that many at once:
a direct client by its connections, answered 503 and closed before anything of it is read; a
client behind a trusted proxy (`forwarded_allow_ips`) by its requests in flight, counted under
the address the proxy names in X-Forwarded-For. A header from anyone else names nobody.

A body larger than a small one reserves its declared length from the unverified-bytes budget
(bot/slack/bodies.py) as soon as its head is read; where there is no room its bytes are dropped
as they arrive, so a crowd of stalled bodies costs the budget and no more, while the small
bodies Slack sends keep a lane of their own.
"""

from __future__ import annotations

import asyncio
import collections
import ipaddress
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from bot.ops.metrics import CONNECTIONS_REFUSED, EDGE_REFUSALS
from bot.slack.bodies import NO_ROOM, PROTOCOL_RESERVED, SMALL_BODY, BodyReader

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


class TrustedProxies:
    """Addresses and networks (`10.0.0.0/8`, `127.0.0.1`, or `*`) whose X-Forwarded-For is believed."""

    def __init__(self, spec: str) -> None:
        parts = [p.strip() for p in spec.split(",") if p.strip()]
        self.everyone = "*" in parts
        self.networks = [ipaddress.ip_network(p, strict=False) for p in parts if p != "*"]

    def __contains__(self, host: str) -> bool:
        if self.everyone:
            return True
        try:
            address = ipaddress.ip_address(host)
        except ValueError:
            return False
        return any(address in network for network in self.networks)

    def client_of(self, forwarded_for: str, peer: str) -> str:
        """The client the proxies name: the nearest address in X-Forwarded-For that is not itself
        a trusted proxy (the ones before it could have been written by the client)."""
        for hop in reversed([h.strip() for h in forwarded_for.split(",") if h.strip()]):
            if hop not in self:
                return hop
        return peer


def _forwarded_for(headers: list[tuple[bytes, bytes]]) -> str:
    return ",".join(v.decode("latin-1") for k, v in headers if k.lower() == b"x-forwarded-for")


def _declared(headers: list[tuple[bytes, bytes]]) -> int | None:
    values = [v for k, v in headers if k.lower() == b"content-length"]
    return int(values[0]) if len(values) == 1 and values[0].isdigit() else None


def with_head_deadline(
    head_timeout: float,
    per_client: int = 0,
    forwarded_allow_ips: str = "",
    bodies: BodyReader | None = None,
) -> type[HttpToolsProtocol]:
    uvicorn_log = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _MalformedQuietly) for f in uvicorn_log.filters):
        uvicorn_log.addFilter(_MalformedQuietly())
    open_by_client: collections.Counter[str] = collections.Counter()
    proxies = TrustedProxies(forwarded_allow_ips)

    def take(client: str) -> bool:
        if open_by_client[client] >= per_client:
            CONNECTIONS_REFUSED.inc()
            return False
        open_by_client[client] += 1
        return True

    def give_back(client: str) -> None:
        open_by_client[client] -= 1
        if open_by_client[client] <= 0:
            del open_by_client[client]

    class HeadDeadlineProtocol(HttpToolsProtocol):
        _head_timer: asyncio.TimerHandle | None = None
        _client: str | None = None  # counted for the whole connection (a direct client)
        _peer: str = ""
        _proxied: bool = False
        _request_client: str | None = None  # counted for one request (behind a trusted proxy)
        _reserved: tuple[int, str] | None = None  # a body's bytes held from the budget, by client
        _dropping: bool = False  # no room for this body: its bytes are not kept

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

        def _refuse(self) -> None:
            self.transport.write(TOO_MANY)
            self.transport.close()

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            peer = transport.get_extra_info("peername")
            self._peer = str(peer[0]) if isinstance(peer, tuple) and peer else ""
            self._proxied = bool(per_client) and self._peer in proxies
            if per_client and not self._proxied:
                if not take(self._peer):
                    self._refuse()
                    return
                self._client = self._peer
            self._arm()

        def _end_request(self) -> None:
            if self._request_client is not None:
                give_back(self._request_client)
                self._request_client = None
            if self._reserved is not None and bodies is not None:
                bodies.budget.release(*self._reserved)
            self._reserved = None

        def _reserve_body(self, client: str) -> None:
            """The declared body's bytes from the budget now, or dropped as they come (503)."""
            declared = _declared(self.headers)
            if bodies is None or declared is None or declared <= SMALL_BODY or declared > bodies.limit:
                return  # small (its own lane), chunked or too large: the app reads or refuses it
            extensions: dict[str, Any] = self.scope.setdefault("extensions", {})
            if bodies.budget.reserve(declared, client):
                self._reserved = (declared, client)
                extensions[PROTOCOL_RESERVED] = declared
            else:
                self._dropping = True
                extensions[PROTOCOL_RESERVED] = NO_ROOM

        def on_body(self, body: bytes) -> None:
            if not self._dropping:
                super().on_body(body)

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            self._end_request()
            if self._client is not None:
                give_back(self._client)
                self._client = None
            super().connection_lost(exc)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self._arm()

        def on_headers_complete(self) -> None:
            self._disarm()
            self._dropping = False
            client = self._peer
            if self._proxied or self._peer in proxies:
                client = proxies.client_of(_forwarded_for(self.headers), self._peer)
            if self._proxied:
                if not take(client):
                    self._refuse()
                    return
                self._request_client = client
            self._reserve_body(client)
            super().on_headers_complete()

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._end_request()
            self._disarm()  # the keep-alive timeout takes over until the next request begins

    return HeadDeadlineProtocol
