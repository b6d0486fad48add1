"""Logging: one JSON object per line (readable text on a terminal), with the request's fields.

Request fields (request_id, team, user, channel, ticket, account) live in a context variable,
so lazy work started by a request logs them too. Configured secret values, passwords inside
URLs and Slack response URLs are replaced in every line, whatever logged them, at every level.
"""

from __future__ import annotations

import json
import logging
import sys
import uuid
from collections.abc import Sequence
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, TextIO

from bot.domain.redact import redact

_FIELDS: ContextVar[dict[str, str]] = ContextVar("ticketbot_log_fields", default={})  # noqa: B039 - never mutated
REDACTED = "[redacted]"


def bind(**fields: str | None) -> None:
    """Add fields to every log line of the current request (and the work it starts)."""
    _FIELDS.set({**_FIELDS.get(), **{k: v for k, v in fields.items() if v}})


def bind_request(**fields: str | None) -> None:
    """A new request: a short id of its own, and its fields (team, user, channel), on every line."""
    bind(request_id=uuid.uuid4().hex[:12], **fields)


def current_fields() -> dict[str, str]:
    return dict(_FIELDS.get())


class _Redacting(logging.Formatter):
    def __init__(self, secrets: Sequence[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s and len(s) >= 6]

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        return redact(text)


# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime", "event"}


class JsonFormatter(_Redacting):
    def format(self, record: logging.LogRecord) -> str:
        event: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            **_FIELDS.get(),
        }
        event.update({k: v for k, v in vars(record).items() if k not in _STANDARD})  # extra= fields
        extra = getattr(record, "event", None)
        if isinstance(extra, dict):
            event.update(extra)
        if record.exc_info:
            event["exc"] = self.formatException(record.exc_info)
        return self.redact(json.dumps(event, ensure_ascii=False, default=str))


class TextFormatter(_Redacting):
    def format(self, record: logging.LogRecord) -> str:
        fields = " ".join(f"{k}={v}" for k, v in _FIELDS.get().items())
        stamp = datetime.fromtimestamp(record.created).strftime("%H:%M:%S")
        line = f"{stamp} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if fields:
            line += f"  [{fields}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return self.redact(line)


def configure(
    level: str, *, secrets: Sequence[str] = (), stream: TextIO | None = None, json_lines: bool | None = None
) -> None:
    """Log to `stream` (stdout by default): JSON unless it is a terminal."""
    out = stream or sys.stdout
    as_json = json_lines if json_lines is not None else not out.isatty()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter(secrets) if as_json else TextFormatter(secrets))
    logging.basicConfig(level=level, handlers=[handler], force=True)
    # httpx logs every request at INFO; keep that for DEBUG runs only.
    logging.getLogger("httpx").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)
