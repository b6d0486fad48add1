"""An update as values: the plan (the exact request, before it is sent) and its result (the
ticket after it, the changes, what Undo needs)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from bot.domain.accounts import Account
from bot.domain.fields import FIELDS
from bot.domain.models import Change, Ticket, TicketRefObject, TicketUpdate, UpdateQuery, display_value
from bot.service.resolver import Target


@dataclass(frozen=True)
class PlannedUpdate:
    account: Account
    ticket_id: str
    update: TicketUpdate
    query: UpdateQuery
    before: Ticket
    targets: tuple[Target, ...]  # what the user meant to change, for the list of changes
    typed_ref: str = ""  # the ref as the user gave it (a key, a URL's id), kept with the snapshot
    labels: dict[str, str] = field(default_factory=dict)  # custom fields' labels, by target key
    options: dict[str, dict[str, str]] = field(default_factory=dict)  # their option labels, by value

    def describe(self, base_url: str) -> dict[str, Any]:
        """The exact request, for `--dry-run` and logs."""
        return {
            "method": "PATCH",
            "url": f"{base_url.rstrip('/')}/unified/ticketing/tickets/{self.ticket_id}",
            "query": self.query.to_params(),
            "json": self.update.to_body(),
        }


@dataclass(frozen=True)
class UpdateResult:
    account: Account
    ticket: Ticket
    changes: list[Change]
    idempotency_key: str
    before: Ticket | None = None
    targets: tuple[Target, ...] = ()
    via: str = ""  # how it reached the tool: "as themselves in Jira", "via the team's Jira connection"

    def undo_body(self) -> dict[str, Any]:
        """The previous values of exactly the fields that changed, as an update body."""
        if self.before is None:
            return {}
        changed = {c.key for c in self.changes}
        body: dict[str, Any] = {}
        for target in self.targets:
            name, custom_key = target
            if target_key(target) not in changed:
                continue
            if custom_key is not None:
                body.setdefault("custom_fields", {})[custom_key] = (self.before.custom_fields or {}).get(
                    custom_key
                )
            else:
                body[name] = _as_body(self.before.value(name))
        return body

    def undo_expect(self) -> dict[str, str]:
        """What each changed field reads now, as changed_since reads it (raw values, not option
        labels); an undo checks the ticket still reads so."""
        changed = {c.key for c in self.changes}
        return {
            target_key(t): self.ticket.display(*t)
            for t in dict.fromkeys(self.targets)
            if target_key(t) in changed
        }


def target_key(target: Target) -> str:
    """A changed field's key: the body field, or `cf.<key>` for a custom field."""
    name, custom_key = target
    return f"cf.{custom_key}" if custom_key is not None else name


def target_label(target: Target, labels: dict[str, str] | None = None) -> str:
    """A changed field as people read it: "due date", a custom field's label."""
    key = target_key(target)
    return (labels or {}).get(key) or (key if target[1] is not None else FIELDS[target[0]].label)


def _as_body(value: Any) -> Any:
    """A ticket's value in the shape of a request body (references as {id, name})."""
    if isinstance(value, TicketRefObject):
        ref = value.as_ref()
        return ref.model_dump(exclude_none=True) if ref else None
    if isinstance(value, list):
        return [_as_body(v) for v in value]
    return value


def changes_between(
    targets: Sequence[Target],
    before: Ticket,
    after: Ticket,
    labels: dict[str, str],
    options: dict[str, dict[str, str]] | None = None,
) -> list[Change]:
    changes = []
    for target in dict.fromkeys(targets):
        named = (options or {}).get(target_key(target), {})
        old, new = _shown(before, target, named), _shown(after, target, named)
        if old == new:
            continue
        was, now = _items(before, target, named), _items(after, target, named)
        moved: dict[str, tuple[str, ...]] = {}
        if was and now and set(was) & set(now):  # some items stay: say what came and went
            moved = {
                "added": tuple(x for x in now if x not in was),
                "removed": tuple(x for x in was if x not in now),
            }
        changes.append(Change(target_key(target), target_label(target, labels), old, new, **moved))
    return changes


def _shown(ticket: Ticket, target: Target, options: dict[str, str]) -> str:
    """A field as a change shows it: a custom option by its label."""
    if not options:
        return ticket.display(*target)
    items = _items(ticket, target, options)
    if items is not None:
        return ", ".join(items) or display_value(None)
    value = (ticket.custom_fields or {}).get(str(target[1]))
    return options.get(str(value), display_value(value)) if value is not None else display_value(None)


def _items(ticket: Ticket, target: Target, options: dict[str, str] | None = None) -> list[str] | None:
    """A list field's items as shown; None for a field that is not a list."""
    name, custom_key = target
    value = (ticket.custom_fields or {}).get(custom_key) if custom_key is not None else ticket.value(name)
    if not isinstance(value, list):
        return None
    return [(options or {}).get(str(v), display_value(v)) for v in value]


def already(plan: PlannedUpdate) -> str:
    """What a ticket already reads: "PROJ-42 already has priority High; nothing was sent." """
    parts = [
        f"{target_label(target, plan.labels)} {plan.before.display(*target)}"
        for target in dict.fromkeys(plan.targets)
    ]
    listed = ", ".join(parts[:-1]) + (f" and {parts[-1]}" if len(parts) > 1 else parts[0] if parts else "")
    return f"{plan.before.display_ref} already has {listed}; nothing was sent."


def changed_since(ticket: Ticket, expect: dict[str, str], targets: Sequence[Target]) -> list[str]:
    """The changed fields that no longer read what the update set."""
    moved = []
    for target in targets:
        key = target_key(target)
        # Undo records written before labels changed keyed "due date", "cf.x" (same for cf.).
        legacy = key if target[1] is not None else target[0].replace("_", " ")
        expected = expect.get(key, expect.get(legacy))
        now = ticket.display(*target)
        if expected is not None and now != expected:
            moved.append(f"{target_label(target)} (now {now})")
    return moved
