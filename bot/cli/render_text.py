"""Plain-text views of tickets and requests for the command line."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from bot.domain.fields import FIELDS
from bot.domain.models import EMPTY, Change, Ticket
from bot.service.audit import AuditRecord

_SHOWN = ("status", "priority", "assignees", "due_date", "tags", "team", "ticket_type", "collections")


def ticket_text(ticket: Ticket) -> str:
    lines = [f"{ticket.display_ref}  {ticket.name or ''}".rstrip()]
    for field in _SHOWN:
        value = ticket.display(field)
        if value != EMPTY:
            lines.append(f"  {FIELDS[field].label:<12} {value}")
    if ticket.web_url:
        lines.append(f"  {'url':<12} {ticket.web_url}")
    return "\n".join(lines)


def changes_text(changes: list[Change]) -> str:
    if not changes:
        return "  (no visible change)"
    return "\n".join(f"  {c.heading}: {c.before} → {c.after}" for c in changes)


def audit_table(records: Sequence[AuditRecord]) -> str:
    if not records:
        return "No audit records match."
    rows = [("time", "user", "channel", "account", "ticket", "changes", "key")]
    for r in records:
        changes = (
            "; ".join(f"{c['field']}: {c['before']} → {c['after']}" for c in r.changes) or "(none visible)"
        )
        who = f"{r.user_name or ''} {r.user_id or ''}".strip() or "-"
        rows.append((r.at, who, r.channel or "-", r.account, r.ticket, changes, r.idempotency_key[:12]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)) + "  " + row[-1]
        for row in rows
    )


def request_text(request: dict[str, Any]) -> str:
    query = "&".join(f"{k}={v}" for k, v in request["query"])
    body = json.dumps(request["json"], indent=2, ensure_ascii=False)
    return f"{request['method']} {request['url']}?{query}\n{body}"
