"""Errors of the unified ticketing API, parsed from its envelope.

Each error has `user_message` (short, safe to show in Slack) and `detail` (for the log).
Envelope: {statusCode, error, message, details?, truto_error_insight?, truto_is_remote_error?}.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from bot.domain.accounts import UNKNOWN_TOOL
from bot.domain.redact import redact
from bot.domain.sanitize import clean_text, html_to_text


class TrutoError(Exception):
    """Base of every error the API client raises."""

    default_message = "The ticketing service answered with an error."

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        user_message: str | None = None,
        envelope: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.user_message = user_message or self.default_message
        self.envelope = envelope or {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(status={self.status}, detail={self.detail!r})"

    def naming(self, tool: str | None) -> TrutoError:
        """The same error, its message naming the account's tool ("Jira is unavailable right
        now", "Jira refused the change: …") instead of "the ticketing tool"."""
        if tool and tool != UNKNOWN_TOOL:
            for generic, named in _GENERIC_NAMES:
                self.user_message = self.user_message.replace(generic, named.format(tool=tool))
        return self


# The generic names in the messages above, longest first, and how they read once the tool is known.
_GENERIC_NAMES = (
    ("The connected ticketing account", "The {tool} account"),
    ("The connected ticketing tool", "{tool}"),
    ("The ticketing service", "{tool}"),
    ("The ticketing tool", "{tool}"),
    ("the ticketing tool", "{tool}"),
    ("the connected tool", "{tool}"),
)


class NotFound(TrutoError):
    default_message = "That ticket (or object) does not exist in the connected tool."


class Unauthorized(TrutoError):
    default_message = (
        "The connection to the ticketing tool needs to be re-authorised; ask an admin to reconnect it."
    )


class Forbidden(TrutoError):
    default_message = (
        "The connected ticketing account lacks a permission (scope) this change needs; "
        "ask an admin to reconnect it with more access."
    )


class NotAllowed(TrutoError):
    default_message = "This account refuses changes (it is a sandbox or read-only connection)."


class ValidationFailed(TrutoError):
    """The request was refused as invalid; `fields` names what was wrong where known."""

    def __init__(self, detail: str, *, fields: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(detail, **kwargs)
        self.fields = fields or []


class RateLimited(TrutoError):
    """Too many requests; `retry_after` is how long the API asked us to wait, in seconds."""

    def __init__(self, detail: str, *, retry_after: float, **kwargs: Any) -> None:
        kwargs.setdefault(
            "user_message",
            f"The ticketing tool is busy (rate limit); try again in about {max(1, round(retry_after))} s.",
        )
        super().__init__(detail, **kwargs)
        self.retry_after = retry_after


class RemoteError(TrutoError):
    default_message = "The connected ticketing tool refused the change."


class Unavailable(TrutoError):
    default_message = "The ticketing service is unavailable right now; try again in a minute."


class Blocked(TrutoError):
    """503: the integrated account is blocked. Not retried."""

    default_message = (
        "The unified API has blocked this connected account (503); ask an admin to check or reconnect it."
    )


class TokenInvalid(TrutoError):
    """Our own API token was refused (a 401 that did not come from the provider)."""

    default_message = (
        "The bot's token for the unified ticketing API is not valid (401 from the API); "
        "an admin must set TRUTO_API_TOKEN."
    )


class AccountNotFound(TrutoError):
    """The unified API does not know the integrated account (its capabilities answered 404)."""

    def __init__(self, integrated_account_id: str) -> None:
        message = (
            f"The integrated account {integrated_account_id} was not found in the unified API; "
            "an admin should check its id (TRUTO_INTEGRATED_ACCOUNT_ID, or integrated_account_id in "
            "the ticketbot config)."
        )
        super().__init__(
            f"integrated account {integrated_account_id} not found", status=404, user_message=message
        )
        self.integrated_account_id = integrated_account_id


@dataclass(frozen=True)
class Envelope:
    """The error envelope, every documented part of it (error-and-evidence-model)."""

    status: int
    error: str = ""
    message: str = ""
    remote: bool = False
    raw_response: Any = None
    insights: dict[str, Any] = field(default_factory=dict)  # key → its `value` (None when it has none)
    failures: tuple[str, ...] = ()  # details.failures, as text

    @classmethod
    def parse(cls, status: int, body: dict[str, Any] | None) -> Envelope:
        data = body or {}
        insights: dict[str, Any] = {}
        raw_insights = data.get("truto_error_insight")
        if isinstance(raw_insights, dict):
            for key, entry in raw_insights.items():
                insights[str(key)] = entry.get("value") if isinstance(entry, dict) else entry
        failures: list[str] = []
        details = data.get("details")
        if isinstance(details, dict) and isinstance(details.get("failures"), list):
            for failure in details["failures"]:
                if isinstance(failure, dict):
                    where = failure.get("field") or failure.get("path") or failure.get("key")
                    what = failure.get("message") or failure.get("error") or ""
                    failures.append(f"{where}: {what}" if where and what else str(where or what))
                else:
                    failures.append(str(failure))
        return cls(
            status=int(data.get("statusCode") or status),
            error=str(data.get("error") or ""),
            message=str(data.get("message") or ""),
            remote=data.get("truto_is_remote_error") is True,
            raw_response=data.get("raw_response"),
            insights=insights,
            failures=tuple(f for f in failures if f),
        )

    def names(self, key: str) -> list[str]:
        """The names an insight lists (e.g. missing_required_body_fields)."""
        value = self.insights.get(key)
        if isinstance(value, list):
            return [str(v) for v in value]
        if isinstance(value, dict):
            return [str(k) for k in value]
        return [str(value)] if isinstance(value, str) else []

    @property
    def missing_scopes(self) -> list[str]:
        value = self.insights.get("forbidden_error")
        scopes = value.get("missing_scopes") if isinstance(value, dict) else None
        return [str(s) for s in scopes] if isinstance(scopes, list) else []

    @property
    def provider_words(self) -> str:
        """What the tool itself said: `message`, else the provider's body (Jira's errorMessages
        and errors, Linear's errors[].message, a generic message or error)."""
        if self.message:
            return self.message
        return _words_of(self.raw_response)


def _words_of(raw: Any) -> str:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return str(raw).strip()
    if not isinstance(raw, dict):
        return ""
    parts: list[str] = []
    messages = raw.get("errorMessages")  # Jira
    if isinstance(messages, list):
        parts += [str(m) for m in messages if m]
    errors = raw.get("errors")
    if isinstance(errors, dict):  # Jira: field → message
        parts += [f"{k}: {v}" for k, v in errors.items()]
    elif isinstance(errors, list):  # Linear (GraphQL) and others: [{message}]
        parts += [str(e.get("message")) for e in errors if isinstance(e, dict) and e.get("message")]
    if not parts:
        for key in ("message", "error_description", "error", "detail", "description"):
            value = raw.get(key)
            if isinstance(value, dict):
                value = value.get("message")
            if isinstance(value, str) and value:
                parts.append(value)
                break
    return "; ".join(parts)


def _short(text: Any, limit: int = 300) -> str:
    """A tool's words as they may be shown or logged: an HTML page as its text, credentials
    masked (a tool may echo `api_key=…`, a Bearer token or a URL with a password back), no
    hidden characters, at most `limit` characters."""
    value = str(text)
    if re.search(r"<(?:html|body|head|p|div|br|title|h\d)\b", value, re.IGNORECASE):
        value = html_to_text(value)
    value = redact(clean_text(value)).strip()
    return value if len(value) <= limit else value[: limit - 1] + "…"


def error_from_response(status: int, envelope: dict[str, Any] | None, operation: str) -> TrutoError:
    """Map an error answer to the matching TrutoError, keeping its cause for the user."""
    body = envelope or {}
    parsed = Envelope.parse(status, body)
    words = _short(parsed.provider_words, 200)
    origin = " (remote)" if parsed.remote else ""
    detail = f"{operation}: HTTP {status}{origin}: {_short(parsed.provider_words or parsed.error or '-')}"
    if parsed.insights:
        detail += f" insights={sorted(parsed.insights)}"
    common: dict[str, Any] = {"status": status, "envelope": body}
    said = f" ({words})" if words else ""
    if status == 400:
        fields = parsed.names("missing_required_body_fields")
        query = parsed.names("missing_required_query_parameters")
        if fields or query:
            named = ", ".join([*fields, *(f"{q} (query)" for q in query)])
            text = f"The ticketing tool needs {named} for this change{said}."
        elif parsed.failures:
            text = f"The ticketing tool refused the change: {_short('; '.join(parsed.failures), 200)}."
        else:
            text = f"The ticketing tool refused the change: {words or 'the request was not valid'}."
        return ValidationFailed(detail, fields=fields + query, user_message=text, **common)
    if status == 401:
        if parsed.remote:
            return Unauthorized(
                detail,
                user_message="The connection to the ticketing tool needs to be re-authorised "
                f"(the tool refused its credentials){said}; ask an admin to reconnect it.",
                **common,
            )
        return TokenInvalid(detail, **common)
    if status == 403:
        scopes = parsed.missing_scopes
        if scopes:
            return Forbidden(
                detail,
                user_message="The connected ticketing account lacks the permission this change needs "
                f"(missing scopes: {', '.join(scopes)}); ask an admin to reconnect it with them.",
                **common,
            )
        return Forbidden(detail, user_message=f"{Forbidden.default_message}{said}".rstrip(), **common)
    if status == 404:
        return NotFound(detail, **common)
    if status == 405:
        return NotAllowed(detail, **common)
    if status in (409, 422):
        return RemoteError(
            detail,
            user_message=f"The ticketing tool refused the change: {words or _short(parsed.error, 100)}.",
            **common,
        )
    if status == 503 and not parsed.remote:  # Truto's own 503: the account is blocked
        return Blocked(detail, **common)
    if status in (408, 425):
        return Unavailable(detail, **common)
    if status >= 500:
        return Unavailable(detail, **common)
    if parsed.remote:
        return RemoteError(
            detail,
            user_message=f"The ticketing tool answered: {words or _short(parsed.error, 100)}.",
            **common,
        )
    return TrutoError(detail, **common)
