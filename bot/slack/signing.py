"""Signed values for button values and private_metadata, which the Slack client can see and forge.

A value is `<base64url JSON>.<base64url HMAC-SHA256, 16 bytes>`; the key is derived from the
signing secret, so every replica agrees and nothing else needs sharing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class Signer:
    def __init__(self, secret: str) -> None:
        self._key = hashlib.sha256(b"ticketbot-values:" + secret.encode()).digest()

    def for_tenant(self, tenant: str) -> Signer:
        """A signer of one workspace's own (distributed mode): a value signed for one workspace
        does not verify in another, so a button or a modal replayed across workspaces is refused."""
        other = Signer.__new__(Signer)
        other._key = hashlib.sha256(self._key + b"|tenant:" + tenant.encode()).digest()
        return other

    def _mac(self, payload: str) -> str:
        return _b64(hmac.new(self._key, payload.encode(), hashlib.sha256).digest()[:16])

    def sign(self, data: dict[str, Any]) -> str:
        payload = _b64(json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode())
        return f"{payload}.{self._mac(payload)}"

    def verify(self, value: str | None) -> dict[str, Any] | None:
        """The signed data, or None for anything forged, altered or malformed."""
        if not value or value.count(".") != 1:
            return None
        payload, mac = value.split(".")
        if not hmac.compare_digest(mac, self._mac(payload)):
            return None
        try:
            data = json.loads(_unb64(payload))
        except ValueError:
            return None
        return data if isinstance(data, dict) else None
