"""Errors of the unified ticketing API, parsed from its envelope.

Each error has `user_message` (short, safe to show in Slack) and `detail` (for the log).
Envelope: {statusCode, error, message, details?, truto_error_insight?, truto_is_remote_error?}.
"""

from __future__ import annotations

from typing import Any


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


class Blocked(Unavailable):
    default_message = (
        "The ticketing service refuses this account for now (it may be blocked); "
        "ask an admin to check the connection."
    )


_BY_STATUS: dict[int, type[TrutoError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    405: NotAllowed,
    409: RemoteError,
    422: RemoteError,
}


def _insight_fields(insight: Any) -> list[str]:
    """Field names from truto_error_insight, e.g. {"missing_required_body_fields": ["x"]}."""
    fields: list[str] = []
    if isinstance(insight, dict):
        for value in insight.values():
            if isinstance(value, list):
                fields.extend(str(item) for item in value)
            elif isinstance(value, str):
                fields.append(value)
    elif isinstance(insight, list):
        fields.extend(str(item) for item in insight)
    return fields


def _short(text: Any, limit: int = 300) -> str:
    value = str(text)
    return value if len(value) <= limit else value[: limit - 1] + "…"


def error_from_response(status: int, envelope: dict[str, Any] | None, operation: str) -> TrutoError:
    """Map an error answer to the matching TrutoError."""
    body = envelope or {}
    message = body.get("message") or body.get("error") or f"HTTP {status}"
    detail = f"{operation}: HTTP {status}: {_short(message)}"
    if body.get("details"):
        detail += f" ({_short(body['details'])})"
    common: dict[str, Any] = {"status": status, "envelope": body}
    if status in (400, 422) and (body.get("truto_error_insight") or status == 400):
        fields = _insight_fields(body.get("truto_error_insight"))
        named = f": check {', '.join(fields)}" if fields else f": {_short(message, 200)}"
        return ValidationFailed(
            detail,
            fields=fields,
            user_message=f"The ticketing tool refused the change{named}.",
            **common,
        )
    if status == 503:
        return Blocked(detail, **common)
    if status in _BY_STATUS:
        cls = _BY_STATUS[status]
        if cls is RemoteError:
            return RemoteError(
                detail,
                user_message=f"The ticketing tool refused the change: {_short(message, 200)}",
                **common,
            )
        return cls(detail, **common)
    if body.get("truto_is_remote_error"):
        return RemoteError(
            detail, user_message=f"The ticketing tool answered: {_short(message, 200)}", **common
        )
    if status >= 500:
        return Unavailable(detail, **common)
    return TrutoError(detail, **common)
