"""The unified API's error answers as the sandbox gives them: the documented envelope
`{statusCode, error, message}` (with `truto_error_insight` where it applies), and a tool's own
refusal forwarded with `truto_is_remote_error` and its `raw_response`."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse, Response

from bot.sandbox.profiles import Obj, Profile

REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


def envelope(status: int, message: str, headers_retry: float | None = None, **extra: Any) -> JSONResponse:
    body = {"statusCode": status, "error": REASONS.get(status, "Error"), "message": message, **extra}
    headers = {"Retry-After": f"{max(1, round(headers_retry))}"} if headers_retry is not None else None
    return JSONResponse(body, status_code=status, headers=headers)


def insight(description: str, value: Any = None) -> Obj:
    """One truto_error_insight entry: {description, value} (value left out when it has none)."""
    return {"description": description} if value is None else {"description": description, "value": value}


def remote_refusal(profile: Profile, status: int, field: str, text: str) -> JSONResponse:
    """The tool refused the change: Truto forwards it with an empty `message`, the provider's body
    in `raw_response` (in the tool's own style) and the remote_error insight."""
    raw: Obj
    if profile.error_style == "linear":
        raw = {"errors": [{"message": f"{field}: {text}", "extensions": {"code": "INVALID_INPUT"}}]}
    elif profile.error_style == "jira":
        raw = {"errorMessages": [], "errors": {field: text}}
    else:
        raw = {"message": f"{field}: {text}"}
    return envelope(
        status,
        "",
        truto_is_remote_error=True,
        raw_response=raw,
        truto_error_insight={"remote_error": insight("The remote API returned an error.")},
    )


class Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response
