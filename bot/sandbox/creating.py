"""A new ticket as a tool makes it from a `POST /unified/ticketing/tickets` body: checked against
the tool's create meta (required body fields, required query parameters, required custom
fields), numbered as the tool numbers it, all or nothing."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from bot.sandbox.changes import apply_change
from bot.sandbox.envelopes import Refused, envelope, insight, remote_refusal
from bot.sandbox.profiles import Obj, Profile

_KEY = re.compile(r"^([A-Z][A-Z0-9]*)-(\d+)$")


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def missing_query(profile: Profile, query: dict[str, str]) -> list[str]:
    return [name for name in profile.create_required_query if not query.get(name)]


def new_ticket(profile: Profile, body: Obj, query: dict[str, str]) -> Obj:
    """The ticket the tool would make (not yet stored); Refused as the API would answer."""
    missing = [name for name in profile.create_required if _empty(body.get(name))]
    if missing:
        # Documented: a refusal for missing fields carries the `missing_required_body_fields`
        # insight; its exact wording is not, so the sandbox's own is used.
        raise Refused(
            envelope(
                400,
                f"Missing required field(s): {', '.join(missing)}",
                truto_error_insight={
                    "missing_required_body_fields": insight(
                        "These fields are required by the unified model.", missing
                    )
                },
            )
        )
    given = body.get("custom_fields")
    custom: Obj = given if isinstance(given, dict) else {}
    absent = [name for name in profile.required_custom_fields() if _empty(custom.get(name))]
    if absent:
        raise Refused(remote_refusal(profile, 400, absent[0], "is required"))
    project = _project(profile, body)
    if profile.create_required_query and query.get("collection_id") not in (None, project["id"]):
        raise Refused(remote_refusal(profile, 400, "collection_id", "does not match the work item's project"))
    now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    number = _next_key(profile, str(project.get("name") or profile.key_prefix))
    ticket_id = number if not profile.takes_keys else str(_next_id(profile))
    ticket: Obj = {
        "id": ticket_id,
        "number": number,
        "name": "",
        "description": None,
        "status": _first_status(profile),
        "assignees": [],
        "tags": [],
        "due_date": None,
        "created_by": profile.integration_user(),
        "created_at": now,
        "updated_at": now,
    }
    if profile.required_query and "etag" in profile.required_query:
        ticket["etag"] = 'W/"1"'
    apply_change(profile, ticket, body)
    if not profile.may_access(ticket):
        raise Refused(
            remote_refusal(profile, 403, "project", "you do not have permission to create issues here")
        )
    if profile.name == "jira":
        ticket["ticket_url"] = f"https://acme.atlassian.net/browse/{number}"
    elif profile.name == "azure":
        ticket["ticket_url"] = f"https://dev.azure.com/acme/_workitems/edit/{ticket_id}"
    return ticket


def _project(profile: Profile, body: Obj) -> Obj:
    """The collection a new ticket goes in (its first), else the profile's own prefix."""
    collections = body.get("collections")
    if isinstance(collections, list) and collections and isinstance(collections[0], dict):
        wanted = collections[0].get("id")
        for item in profile.lists.get("collections", []):
            if item["id"] == wanted:
                return item
    return {"id": "", "name": profile.key_prefix}


def _next_key(profile: Profile, project: str) -> str:
    """The project's next key (PROJ-61 after PROJ-60); a project whose name is no key prefix
    (Azure DevOps' "Payments") numbers under the profile's prefix."""
    prefix = project if re.fullmatch(r"[A-Z][A-Z0-9]*", project) else profile.key_prefix
    highest = 0
    for ticket in profile.tickets.values():
        found = _KEY.match(str(ticket.get("number") or ""))
        if found and found.group(1) == prefix:
            highest = max(highest, int(found.group(2)))
    return f"{prefix}-{highest + 1}"


def _next_id(profile: Profile) -> int:
    ids = [int(t["id"]) for t in profile.tickets.values() if str(t.get("id", "")).isdigit()]
    return max(ids, default=0) + 1


def _first_status(profile: Profile) -> Any:
    statuses = profile.lists.get("ticket_status")
    if statuses:
        return {"id": statuses[0]["id"], "name": statuses[0]["name"]}
    return profile.status_enum[0] if profile.status_enum else "open"
