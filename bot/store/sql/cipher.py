"""Tokens encrypted at rest: Fernet (AES-128-CBC with an HMAC), keys from TICKETBOT_ENCRYPTION_KEY.

The setting holds one or more keys, comma separated: the first encrypts, every one decrypts.
Rotation: put a new key first, keep the old one after it, run `ticketbot db rotate-key` (every
stored token is encrypted again under the new key), then drop the old key.
"""

from __future__ import annotations

import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

MARK = "fernet:"  # stored values start with it: a plaintext left by an earlier version is told apart


WRONG_KEY = (  # what start-up and `ticketbot check` say when the key changed
    "TICKETBOT_ENCRYPTION_KEY: the stored tokens do not open with this key; the key they were sealed "
    "with is needed (set TICKETBOT_ENCRYPTION_KEY=new,old and run `ticketbot db rotate-key` to move "
    "to a new one)"
)


class CipherError(Exception):
    """A stored token that none of the keys opens (the key that sealed it was dropped)."""


def new_key() -> str:
    return Fernet.generate_key().decode()


class TokenCipher:
    def __init__(self, keys: str) -> None:
        parts = [part.strip() for part in keys.split(",") if part.strip()]
        if not parts:
            raise ValueError("TICKETBOT_ENCRYPTION_KEY: no key given")
        # Names what was sealed with these keys without revealing them (a shared copy's name).
        self.fingerprint = hashlib.sha256(",".join(parts).encode()).hexdigest()[:12]
        try:
            self._fernet = MultiFernet([Fernet(part.encode()) for part in parts])
        except ValueError as exc:
            raise ValueError(
                "TICKETBOT_ENCRYPTION_KEY: each key must be 32 url-safe base64-encoded bytes "
                "(make one with `ticketbot db new-key`)"
            ) from exc

    def seal(self, value: str | None) -> str | None:
        if value is None:
            return None
        return MARK + self._fernet.encrypt(value.encode()).decode()

    def open(self, value: str | None) -> str | None:
        if value is None or not value.startswith(MARK):
            return value  # not sealed (written before encryption was configured)
        try:
            return self._fernet.decrypt(value[len(MARK) :].encode()).decode()
        except InvalidToken as exc:
            raise CipherError("a stored token does not open with any TICKETBOT_ENCRYPTION_KEY key") from exc

    def reseal(self, value: str | None) -> str | None:
        """Under the first key (rotation)."""
        return self.seal(self.open(value))
