"""The edge of `serve`: nothing from the network is parsed, stored or acted on before Slack's
signature over the raw bytes is verified.

- Bodies are read within the limits of bot/slack/bodies.py: a size limit, a deadline, and one
  budget of bytes for every body not yet verified.
- The signature is checked on the raw bytes (`v0:<timestamp>:<body>`, HMAC-SHA256 with the
  signing secret, timestamp within five minutes), so a body that is not UTF-8, not a form or
  not JSON gets the same 401 as a junk signature, with no traceback and no trace of its content.
- A signed request seen before (the same timestamp and signature: a replay of captured bytes)
  is answered 200 and does nothing, for as long as its signature could verify.
- A verified `/ticket update` may be taken by the fast ack (handlers/fast_ack.py) before the
  last two checks: it parses no JSON and keeps the replay marker in its own write. The rest
  passes `for_bolt` first.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from starlette.requests import Request

from bot.slack.bodies import BodyReader, BodyRefused, json_depth_ok
from bot.slack.payload_shape import malformed
from bot.store import ack_budget
from bot.store.cache import Backend
from bot.store.keys import jobs_key

SIGNATURE_WINDOW = 300.0  # seconds a Slack signature stays valid
CLOCK_SKEW = 30.0  # our clock may be this far from Slack's
REPLAY_WINDOW = SIGNATURE_WINDOW + CLOCK_SKEW
_TIMESTAMP = re.compile(r"[0-9]{1,12}")
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")


class SignatureCheck:
    """Slack's request signature, computed over the raw bytes."""

    def __init__(self, signing_secret: str, clock: Callable[[], float] = time.time) -> None:
        self._key = signing_secret.encode()
        self._clock = clock

    def verify(self, body: bytes, headers: Mapping[str, str]) -> bool:
        timestamp = headers.get("x-slack-request-timestamp") or ""
        signature = headers.get("x-slack-signature") or ""
        if not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
            return False
        if abs(self._clock() - int(timestamp)) > SIGNATURE_WINDOW:
            return False
        base = b"v0:" + timestamp.encode() + b":" + body
        expected = "v0=" + hmac.new(self._key, base, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)


@dataclass
class ReplayGuard:
    """Remembers every verified request for as long as its signature could verify."""

    markers: Backend
    window: float = REPLAY_WINDOW

    @staticmethod
    def marker(headers: Mapping[str, str]) -> str:
        """The request's marker: the fast ack sets it in the job's own write (keys.jobs_key)."""
        digest = hashlib.sha256(
            f"{headers.get('x-slack-request-timestamp')}:{headers.get('x-slack-signature')}".encode()
        ).hexdigest()[:32]
        return jobs_key("replay", digest)

    async def first_time(self, headers: Mapping[str, str]) -> bool:
        """True the first time a (timestamp, signature) pair is seen. A marker store that does not
        answer within the ack budget lets the request through (its per-surface markers remain)."""
        try:
            token = await ack_budget.within(self.markers.try_lock(self.marker(headers), self.window))
        except (TimeoutError, OSError):
            return True
        return token is not None


def _json_of(body: bytes, content_type: str) -> bytes | str | None:
    """The JSON Bolt will parse: a form's `payload` (interactivity), or a JSON body (events);
    None for a slash command's plain form (or what Bolt cannot read: it refuses that itself)."""
    if content_type.startswith("application/x-www-form-urlencoded"):
        try:
            fields = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            return None
        return next((value for name, value in fields if name == "payload"), None)
    return body


def _shape_refusal(body: bytes, content_type: str) -> Refusal | None:
    """Too deeply nested for Bolt's parser (checked before parsing), or not shaped as Slack sends
    its payloads (bot/slack/payload_shape.py)."""
    raw = _json_of(body, content_type)
    if raw is None:
        return None
    if not json_depth_ok(raw):
        return Refusal(400, "too deeply nested")
    try:
        parsed = json.loads(raw)
    except ValueError:
        return Refusal(400, "malformed payload: not JSON")
    why = malformed(parsed) if isinstance(parsed, dict) else "not an object"
    return Refusal(400, f"malformed payload: {why}") if why is not None else None


@dataclass
class Refusal:
    status: int
    reason: str


@dataclass
class SlackEdge:
    """What a request to /slack/events must pass before Bolt sees it."""

    signature: SignatureCheck
    bodies: BodyReader
    replay: ReplayGuard | None = None

    async def admit(self, request: Request) -> bytes | Refusal:
        """The verified raw body of a request Bolt may parse, or why it is refused."""
        verified = await self.verified(request)
        if isinstance(verified, Refusal):
            return verified
        return await self.for_bolt(request.headers, verified)

    async def verified(self, request: Request) -> bytes | Refusal:
        """The raw body with its signature verified, or why it is refused; nothing is parsed or
        stored (the fast ack reads a form's fields and no JSON). Starts the ack budget."""
        try:
            body = await self.bodies.read(request)
        except BodyRefused as refused:
            return Refusal(refused.status, refused.reason)
        if not self.signature.verify(body, request.headers):
            return Refusal(401, "invalid signature")
        ack_budget.begin()
        return body

    async def for_bolt(self, headers: Mapping[str, str], body: bytes) -> bytes | Refusal:
        """A verified body again, unless its JSON nests too deeply for Bolt's parser, is not
        shaped as Slack sends it, or its request was seen before (a replay)."""
        refused = _shape_refusal(body, headers.get("content-type", ""))
        if refused is not None:
            return refused
        if self.replay is not None and not await self.replay.first_time(headers):
            return Refusal(200, "replay")
        return body
