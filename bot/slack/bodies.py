"""Reading a request's body before anything has verified it: what anonymous clients may hold.

Every route that takes input reads its body here, before its signature is checked, within
three bounds:
- a size limit per request (413 from Content-Length before reading, or as soon as a chunked
  body passes it);
- a deadline for the whole body (408), short: Slack and the unified API send a body at once;
- one budget of bytes in flight for all unverified bodies in the process (of which one client
  address may hold a quarter where a per-client cap is set). A declared length is reserved
  before the first byte is read, a chunked body chunk by chunk; a request that does not fit is
  answered 503 at once, with nothing buffered. So a crowd of clients that each declare 1 MiB
  and stall holds a part of the budget, not a mebibyte each, and for no longer than the
  deadline. What was reserved is given back as soon as the body is read (or refused).
- small bodies (Slack's commands and events: a few KiB) draw on a lane of their own, an eighth
  more than the budget, that large ones cannot take: stalled large bodies from the same address
  as Slack (behind a proxy, every request has one) never starve Slack's own requests.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import ClientDisconnect, Request

from bot.ops.metrics import UNVERIFIED_BYTES

SMALL_BODY = 16 * 1024  # a slash command or an event is a few KiB; a form's submission may be more
# Set by `serve`'s protocol (http_protocol.py) in a request's ASGI extensions: the bytes it
# reserved for the declared body as soon as the head arrived (given back when the response
# ends), or NO_ROOM: the body's bytes were dropped as they came, the answer is 503.
PROTOCOL_RESERVED = "ticketbot.unverified_reserved"
NO_ROOM = -1


class BodyRefused(Exception):
    """The body cannot be read: too large (413), too slow (408), no room (503)."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@dataclass
class UnverifiedBudget:
    """Bytes that bodies not yet verified may hold, across the process (one event loop), and
    the part of it one client address may hold (a quarter by default): one host that fills
    its part leaves the rest to everyone else, Slack included."""

    limit: int
    client_share: float = 0.25
    small: int = SMALL_BODY
    held: int = field(default=0, init=False)
    small_held: int = field(default=0, init=False)
    _by_client: collections.Counter[str] = field(default_factory=collections.Counter, init=False)

    def reserve_small(self, size: int) -> bool:
        """A declared small body, on the lane large ones cannot take (no share per client)."""
        if size > self.small or self.small_held + size > self.limit // 8:
            return False
        self.small_held += size
        UNVERIFIED_BYTES.set(self.held + self.small_held)
        return True

    def release_small(self, size: int) -> None:
        self.small_held = max(0, self.small_held - size)
        UNVERIFIED_BYTES.set(self.held + self.small_held)

    def reserve(self, size: int, client: str = "") -> bool:
        if self.held + size > self.limit or self._by_client[client] + size > self.limit * self.client_share:
            return False
        self.held += size
        self._by_client[client] += size
        UNVERIFIED_BYTES.set(self.held + self.small_held)
        return True

    def release(self, size: int, client: str = "") -> None:
        self.held = max(0, self.held - size)
        self._by_client[client] -= size
        if self._by_client[client] <= 0:
            del self._by_client[client]
        UNVERIFIED_BYTES.set(self.held + self.small_held)


@dataclass
class BodyReader:
    limit: int  # bytes per request
    seconds: float  # for the whole body
    budget: UnverifiedBudget

    async def read(self, request: Request) -> bytes:
        """The whole body, or BodyRefused."""
        declared = request.headers.get("content-length")
        client = request.client.host if request.client else ""
        reserved = small = 0
        by_protocol = (request.scope.get("extensions") or {}).get(PROTOCOL_RESERVED)
        if by_protocol == NO_ROOM:
            raise BodyRefused(503, "too many request bodies in flight; try again")
        if isinstance(by_protocol, int) and declared is not None and declared.isdigit():
            # The protocol holds the declared length's reservation and gives it back itself.
            return await self._collect(request, int(declared))
        if declared is not None:
            if not declared.isdigit():
                raise BodyRefused(400, "invalid Content-Length")
            if int(declared) > self.limit:
                raise BodyRefused(413, f"body larger than {self.limit} bytes")
            if self.budget.reserve_small(int(declared)):
                small = int(declared)
            elif self.budget.reserve(int(declared), client):
                reserved = int(declared)
            else:
                raise BodyRefused(503, "too many request bodies in flight; try again")

        async def collect() -> bytes:
            nonlocal reserved
            chunks: list[bytes] = []
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > self.limit:
                    raise BodyRefused(413, f"body larger than {self.limit} bytes")
                if size > small + reserved:  # chunked, or more than was declared
                    if not self.budget.reserve(size - small - reserved, client):
                        raise BodyRefused(503, "too many request bodies in flight; try again")
                    reserved = size - small
                chunks.append(chunk)
            return b"".join(chunks)

        try:
            return await self._within_deadline(collect())
        finally:
            self.budget.release(reserved, client)
            self.budget.release_small(small)

    async def _collect(self, request: Request, declared: int) -> bytes:
        """A body whose declared length the protocol reserved: more than declared is refused."""

        async def collect() -> bytes:
            chunks: list[bytes] = []
            size = 0
            async for chunk in request.stream():
                size += len(chunk)
                if size > declared:
                    raise BodyRefused(400, "body longer than its Content-Length")
                chunks.append(chunk)
            return b"".join(chunks)

        return await self._within_deadline(collect())

    async def _within_deadline(self, reading: Coroutine[Any, Any, bytes]) -> bytes:
        try:
            async with asyncio.timeout(self.seconds):
                return await reading
        except TimeoutError:
            raise BodyRefused(408, f"body not received within {self.seconds:g} s") from None
        except ClientDisconnect:
            raise BodyRefused(400, "client went away") from None


MAX_JSON_DEPTH = 64  # Slack's deepest payloads (views with blocks and state) nest about a dozen levels


def json_depth_ok(text: bytes | str, limit: int = MAX_JSON_DEPTH) -> bool:
    """True unless `text` nests arrays and objects deeper than `limit` (counted outside strings,
    without parsing): a signed body is bounded before any parser recurses into it."""
    data = text.encode() if isinstance(text, str) else text
    depth = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return False
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return True
