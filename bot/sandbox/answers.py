"""How the sandbox shapes its successful answers as documented: the unified list envelope
(`result`, `next_cursor`, `prev_cursor`, `result_count`, `is_partial_response`), the platform
list envelope (`result`, `next_cursor`, `limit` only), and a ticket under the seed page's query
parameters (`truto_response_format`, `truto_ignore_remote_data`, `truto_exclude_fields[]`)."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

from bot.sandbox.profiles import Obj, Profile

DEFAULT_LIMIT = 50
PLATFORM_LIMIT = 5000  # the documented default of platform lists (`GET /api-token`'s "limit": 5000)


class BadPage(ValueError):
    """A limit or cursor the sandbox cannot read."""


def _cursor(offset: int) -> str:
    return base64.urlsafe_b64encode(str(offset).encode()).decode()


def _window(query: Any, default: int) -> tuple[int, int]:
    try:
        limit = max(1, min(int(query.get("limit", default)), max(default, 1000)))
        cursor = query.get("next_cursor")
        start = int(base64.urlsafe_b64decode(cursor.encode()).decode()) if cursor else 0
    except ValueError:
        raise BadPage("Invalid limit or next_cursor") from None
    return start, limit


def unified_page(items: Sequence[Obj], query: Any) -> Obj:
    start, limit = _window(query, DEFAULT_LIMIT)
    page = list(items[start : start + limit])
    return {
        "result": page,
        "next_cursor": _cursor(start + limit) if start + limit < len(items) else None,
        "prev_cursor": _cursor(max(0, start - limit)) if start else None,
        "result_count": len(page),
        "is_partial_response": False,
    }


def platform_page(items: Sequence[Obj], query: Any) -> Obj:
    start, limit = _window(query, PLATFORM_LIMIT)
    return {
        "result": list(items[start : start + limit]),
        "next_cursor": _cursor(start + limit) if start + limit < len(items) else None,
        "limit": limit,
    }


def _flag(query: Any, name: str) -> bool:
    return str(query.get(name, "")).lower() in ("true", "1")


def excluded_fields(query: Any) -> set[str]:
    """`truto_exclude_fields[]=a&truto_exclude_fields[]=b` (a plain `truto_exclude_fields=a,b` is
    read too: how other clients encode a list is not documented)."""
    names: set[str] = set()
    for key in ("truto_exclude_fields[]", "truto_exclude_fields"):
        for value in query.getlist(key) if hasattr(query, "getlist") else [query.get(key, "")]:
            names.update(part for part in str(value).split(",") if part)
    return names


def shaped_ticket(profile: Profile, ticket: Obj, query: Any) -> Obj | None:
    """A ticket as the query asks for it; None for a format the API does not name. `stream` is
    documented as the same response delivered as a stream: the unified answer here."""
    form = query.get("truto_response_format") or "unified"
    if form == "raw":
        return profile.remote_data(ticket)  # the remote API's own answer, unmapped
    if form not in ("unified", "normalized", "stream"):
        return None  # an unknown format
    answer = dict(ticket)
    if form == "unified" and not _flag(query, "truto_ignore_remote_data"):
        answer["remote_data"] = profile.remote_data(ticket)
    # `normalized` is described only as "the unified mappings in a normalized format": the
    # sandbox answers the unified fields without remote_data, one plausible reading.
    for name in excluded_fields(query):
        answer.pop(name, None)
    return answer
