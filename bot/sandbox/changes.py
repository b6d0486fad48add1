"""A PATCH body checked against what the tool publishes and applied to a ticket, all or nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from bot.sandbox.contract import shape_problems, unknown_fields
from bot.sandbox.envelopes import Refused, envelope, remote_refusal
from bot.sandbox.profiles import Obj, Profile


def check_ref(profile: Profile, value: Any, items: list[Obj], label: str) -> Obj:
    wanted = value.get("id") if isinstance(value, dict) else None
    for item in items:
        if item["id"] == wanted:
            ref = {"id": item["id"], "name": item.get("name")}
            if item.get("type"):
                ref["type"] = item["type"]
            return ref
    raise Refused(remote_refusal(profile, 400, label, f"unknown id {wanted!r}"))


def apply_change(profile: Profile, ticket: Obj, body: Obj) -> None:
    """Validate the whole body, then change the ticket; nothing changes on a refusal."""
    unknown = unknown_fields(body)
    if unknown:
        raise Refused(envelope(400, f"Unknown field(s) in body: {', '.join(unknown)}"))
    problems = shape_problems(body, profile.body_schema())
    if problems:
        # The envelope's `details.failures` is documented for validation errors; the wording of
        # each failure is not, so the sandbox's own is used.
        failures = [{"message": problem} for problem in problems]
        raise Refused(envelope(400, "; ".join(problems), details={"failures": failures}))
    unsupported = sorted(set(body) & profile.unsupported_fields)
    if unsupported:
        raise Refused(remote_refusal(profile, 400, unsupported[0], f"cannot be updated on {profile.tool}"))
    lists = profile.lists
    changed: Obj = {}
    for key, value in body.items():
        if value is None or key in ("name", "description", "html_description", "number"):
            changed[key] = value
        elif (
            key in ("status", "ticket_type")
            and isinstance(value, str)
            and profile.status_as_string
            and (profile.status_enum if key == "status" else profile.type_enum)
        ):
            accepted = profile.status_enum if key == "status" else profile.type_enum
            if value not in accepted:
                raise Refused(
                    remote_refusal(profile, 400, key, f"{value!r} is not one of {', '.join(accepted)}")
                )
            changed[key] = value
        elif key == "status":
            if isinstance(value, str):
                # A tool without a status list takes its own status words as strings.
                known = lists.get("ticket_status") or [{"id": value, "name": value}]
                match = [s for s in known if s["name"].lower() == value.lower()]
                if not match:
                    raise Refused(remote_refusal(profile, 400, "status", f"unknown status {value!r}"))
                changed[key] = {"id": match[0]["id"], "name": match[0]["name"]}
            else:
                changed[key] = check_ref(profile, value, lists.get("ticket_status", []), key)
        elif key == "workspace" and isinstance(value, str):
            changed[key] = check_ref(profile, {"id": value}, lists.get("workspaces", []), key)
        elif key in ("priority", "ticket_type", "team", "workspace"):
            resource = {"priority": "ticket_priorities", "ticket_type": "ticket_types"}.get(key, f"{key}s")
            if isinstance(value, str) and key == "ticket_type":
                changed[key] = {"id": value, "name": value}
            else:
                changed[key] = check_ref(profile, value, lists.get(resource, []), key)
        elif key in ("assignees", "tags", "collections", "created_by"):
            resource = "users" if key in ("assignees", "created_by") else key
            values = value if isinstance(value, list) else [value]
            refs = [check_ref(profile, v, lists.get(resource, []), key) for v in values]
            changed[key] = refs if isinstance(value, list) else refs[0]
        elif key in ("due_date", "completed_at", "created_at", "updated_at"):
            try:
                (date if len(str(value)) == 10 else datetime).fromisoformat(str(value))
            except ValueError:
                raise Refused(remote_refusal(profile, 400, key, f"not an ISO 8601 date: {value!r}")) from None
            changed[key] = value
        elif key in ("source", "contact", "account", "parent_ticket"):
            if not isinstance(value, dict) or not value.get("id"):
                raise Refused(remote_refusal(profile, 400, key, "must be an object with an id"))
            changed[key] = value
        elif key == "custom_fields":
            changed[key] = {**(ticket.get("custom_fields") or {}), **value}
        else:
            changed[key] = value
    ticket.update(changed)
    ticket["updated_at"] = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
