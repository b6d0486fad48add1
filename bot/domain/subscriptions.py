"""Channel subscriptions: what a channel is told when a ticket changes in the tool.

`/ticket subscribe status="In Progress" priority=P0,P1 -tags=dependabot changed=status
--events updated,closed --thread on`: the filter is the update grammar's `field=value` words,
several values comma separated (any of them matches), `-field=` to exclude, `none` for an empty
field, `cf.<key>=` for a custom field, `changed=<field,…>` to fire only when one of those fields
changed. Values are resolved when the subscription is made and kept by id (and by name, to show).
Pure: parsing, matching a ticket after a change, and what changed between two snapshots.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field

from bot.domain.errors import ParseError
from bot.domain.models import Ticket, TicketRefObject

Event = Literal["created", "updated", "closed", "deleted", "commented"]
Thread = Literal["on", "off", "broadcast"]
EVENTS: tuple[Event, ...] = (
    "created",
    "updated",
    "closed",
    "deleted",
)  # what a subscription hears unless told
# `commented` (a new comment on a matching ticket) is asked for by name: comments are many.
CHOOSABLE_EVENTS: tuple[Event, ...] = (*EVENTS, "commented")
THREADS: tuple[Thread, ...] = ("on", "off", "broadcast")

# Filter words → (the ticket field, its lookup list; None: matched as typed).
FILTER_FIELDS: dict[str, tuple[str, str | None]] = {
    "status": ("status", "ticket_status"),
    "priority": ("priority", "ticket_priorities"),
    "type": ("ticket_type", "ticket_types"),
    "tags": ("tags", "tags"),
    "team": ("team", "teams"),
    "collection": ("collections", "collections"),
    "assignee": ("assignees", "users"),
}
ALIASES = {"project": "collection", "tag": "tags", "assignees": "assignee", "ticket_type": "type"}
# What `changed=` and `--fields` name → the label a change line uses.
CHANGE_FIELDS: dict[str, str] = {
    "title": "name",
    "status": "status",
    "priority": "priority",
    "type": "ticket_type",
    "assignee": "assignees",
    "tags": "tags",
    "due": "due_date",
    "team": "team",
    "collection": "collections",
    "description": "description",
}
CHANGE_LABELS = {field: word for word, field in CHANGE_FIELDS.items()}
CLOSED_WORDS = ("done", "closed", "resolved", "complete", "completed", "cancelled", "canceled", "fixed")
NONE = "none"
ME = "me"

_WORD = re.compile(r"^(-?)([A-Za-z_][A-Za-z0-9_.]*)=(.*)$", re.S)
FILTER_HINT = (
    "a filter is field=value words: status, priority, type, tags, team, collection (or project), "
    "assignee (me, @someone, none) and cf.<field>; several values comma separated; -field= to "
    "exclude; changed=status to fire only when it changed; /ticket subscribe help shows examples "
    "in your tool's own values"
)


@dataclass(frozen=True)
class Clause:
    """One `field=values` word as typed."""

    word: str  # the filter word (status, cf.severity, …)
    values: tuple[str, ...]
    negate: bool = False
    position: int = 0


@dataclass(frozen=True)
class SubscribeRequest:
    clauses: tuple[Clause, ...]
    changed: tuple[str, ...] = ()  # CHANGE_FIELDS words
    events: tuple[Event, ...] = EVENTS
    fields: tuple[str, ...] = ()  # CHANGE_FIELDS words the line names; empty: every changed one
    thread: Thread = "on"
    digest: str | None = None  # "HH:MM": one message a day instead of a line per change
    account: str | None = None  # another of the deployment's accounts than the channel's


_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


def _digest(words: list[str], i: int, value: str, position: int) -> tuple[str, int]:
    """`--digest daily [HH:MM]` (09:00 by default); the time and the index of its last word."""
    if not value and i + 1 < len(words):
        i += 1
        value = words[i]
    if value != "daily":
        raise ParseError(
            "--digest takes daily and a time", position, value or "--digest", "e.g. --digest daily 09:00"
        )
    at = "09:00"
    if i + 1 < len(words) and _TIME.match(words[i + 1]):
        i += 1
        hours, minutes = _TIME.match(words[i]).groups()  # type: ignore[union-attr]
        at = f"{int(hours):02d}:{minutes}"
    return at, i


def last_due(at: str, tz: str, now: datetime) -> datetime:
    """The latest time of day `at` (in `tz`) at or before `now`."""
    try:
        zone: tzinfo = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        zone = UTC
    local = now.astimezone(zone)
    hours, minutes = (int(part) for part in at.split(":"))
    due = local.replace(hour=hours, minute=minutes, second=0, microsecond=0)
    if due > local:
        due -= timedelta(days=1)
    return due


def _list(value: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _choices(option: str, value: str, allowed: tuple[str, ...], position: int) -> tuple[str, ...]:
    """`option` as written: `--events` or `changed=`."""
    chosen = _list(value)
    bad = [v for v in chosen if v not in allowed]
    if not chosen or bad:
        example = f"{option}{'' if option.endswith('=') else ' '}{','.join(allowed[:2])}"
        raise ParseError(
            f"{option} takes {', '.join(allowed)}", position, bad[0] if bad else option, f"e.g. {example}"
        )
    return chosen


MAX_CLAUSES = 12  # conditions in one filter (each field once, each with its values)
MAX_VALUES = 25  # values of one condition
MAX_FILTER_CHARS = 1000  # the filter as typed; its stored form stays within a few KiB


def parse_subscribe(text: str) -> SubscribeRequest:
    """The words after `/ticket subscribe`. ParseError, with what would be accepted."""
    if len(text) > MAX_FILTER_CHARS:
        raise ParseError(
            f"a subscription's filter is at most {MAX_FILTER_CHARS} characters (this one has {len(text)})",
            MAX_FILTER_CHARS,
            text[MAX_FILTER_CHARS - 10 : MAX_FILTER_CHARS],
            "split it into several subscriptions",
        )
    try:
        words = shlex.split(text)
    except ValueError:
        raise ParseError("a quote is not closed", len(text), text[-10:], FILTER_HINT) from None
    clauses: list[Clause] = []
    changed: tuple[str, ...] = ()
    events: tuple[Event, ...] = EVENTS
    fields: tuple[str, ...] = ()
    thread: Thread = "on"
    digest: str | None = None
    account: str | None = None
    position = 0
    i = 0
    while i < len(words):
        word = words[i]
        position = max(0, text.find(word.split("=", 1)[0], position))
        if word.startswith("--"):
            option, _, value = word[2:].partition("=")
            if option == "digest":
                digest, i = _digest(words, i, value, position)
                i += 1
                continue
            if not value and i + 1 < len(words):
                i += 1
                value = words[i]
            if option == "events":
                events = _choices("--events", value, CHOOSABLE_EVENTS, position)  # type: ignore[assignment]
            elif option == "fields":
                fields = _choices("--fields", value, tuple(CHANGE_FIELDS), position)
            elif option == "account":
                if not value:
                    raise ParseError(
                        "--account needs an account's name", position, word, "e.g. --account linear"
                    )
                account = value
            elif option == "thread":
                thread = _choices("--thread", value, THREADS, position)[0]  # type: ignore[assignment]
            else:
                raise ParseError(
                    f"unknown option --{option}",
                    position,
                    word,
                    "options: --events, --fields, --thread, --digest, --account",
                )
            i += 1
            continue
        found = _WORD.match(word)
        if found is None:
            raise ParseError(f"'{word}' is not a field=value filter", position, word, FILTER_HINT)
        negate, key, value = found.group(1) == "-", found.group(2).lower(), found.group(3)
        key = ALIASES.get(key, key)
        if key == "changed":
            changed = _choices("changed=", value, tuple(CHANGE_FIELDS), position)
        elif key in FILTER_FIELDS or (key.startswith("cf.") and len(key) > 3):
            if not _list(value):
                raise ParseError(f"{key}= needs a value", position, word, FILTER_HINT)
            if len(_list(value)) > MAX_VALUES:
                raise ParseError(
                    f"{key}= takes at most {MAX_VALUES} values (here {len(_list(value))})",
                    position,
                    word[:40],
                    "split it into several subscriptions",
                )
            clauses.append(Clause(key, _list(value), negate, position))
            if len(clauses) > MAX_CLAUSES:
                raise ParseError(
                    f"a subscription takes at most {MAX_CLAUSES} conditions",
                    position,
                    word[:40],
                    "split it into several subscriptions",
                )
        else:
            raise ParseError(f"'{key}' is not a field a filter can use", position, word, FILTER_HINT)
        i += 1
    if len({(c.word, c.negate) for c in clauses}) < len(clauses):
        repeated = next(
            c for c in clauses if sum(o.word == c.word and o.negate == c.negate for o in clauses) > 1
        )
        raise ParseError(
            f"{repeated.word} is given twice",
            repeated.position,
            repeated.word,
            f"give its values once, comma separated: {repeated.word}=a,b",
        )
    return SubscribeRequest(tuple(clauses), changed, events, fields, thread, digest, account)


class Condition(BaseModel):
    """A clause resolved: the ids it matches (an empty id: the field is empty) and their names."""

    model_config = ConfigDict(frozen=True)

    word: str
    field: str  # the ticket's field, or cf.<key>
    ids: tuple[str, ...]
    names: tuple[str, ...]
    negate: bool = False

    def holds(self, ticket: Ticket) -> bool:
        found = ticket_ids(ticket, self.field)
        wanted = {i.casefold() for i in self.ids}
        hit = bool(wanted & found) or ("" in wanted and not found)
        return hit != self.negate

    def shown(self) -> str:
        return f"{'-' if self.negate else ''}{self.word}={','.join(_quoted(n) for n in self.names)}"


def _quoted(name: str) -> str:
    return f'"{name}"' if re.search(r"[\s,=\"]", name) else name


class Subscription(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: str
    channel: str
    account: str  # integrated account id
    conditions: tuple[Condition, ...] = ()
    changed: tuple[str, ...] = ()
    events: tuple[Event, ...] = EVENTS
    fields: tuple[str, ...] = ()
    thread: Thread = "on"
    digest: str | None = None  # "HH:MM" in `tz`, daily
    tz: str = "UTC"
    created_by: str | None = None
    created_at: float = 0.0
    tenant: str | None = None
    extra: dict[str, Any] = Field(default_factory=dict)

    def matches(self, ticket: Ticket | None, changes: dict[str, tuple[str, str]], event: Event) -> bool:
        """`ticket` after the change (None when deleted: only the event counts)."""
        if event not in self.events:
            return False
        if event == "deleted" or ticket is None:
            return event == "deleted" and not self.conditions and not self.changed
        if self.changed and not any(CHANGE_FIELDS[w] in changes for w in self.changed):
            return False
        return all(condition.holds(ticket) for condition in self.conditions)

    def shown(self) -> str:
        words = [c.shown() for c in self.conditions]
        if self.changed:
            words.append(f"changed={','.join(self.changed)}")
        if set(self.events) != set(EVENTS):
            words.append(f"--events {','.join(self.events)}")
        if self.fields:
            words.append(f"--fields {','.join(self.fields)}")
        if self.thread != "on":
            words.append(f"--thread {self.thread}")
        if self.digest:
            words.append(f"--digest daily {self.digest}")
        return " ".join(words) or "every change"


def ticket_ids(ticket: Ticket, field: str) -> set[str]:
    """The ids (and names, folded) a ticket has in a field; empty when the field is empty."""
    if field.startswith("cf."):
        value = (ticket.custom_fields or {}).get(field[3:])
        values = value if isinstance(value, list) else [value]
        out: set[str] = set()
        for v in values:
            if isinstance(v, dict):
                out |= {str(v.get(k)).casefold() for k in ("id", "name", "label", "value") if v.get(k)}
            elif v not in (None, ""):
                out.add(str(v).casefold())
        return out
    value = ticket.value(field)
    items = value if isinstance(value, list) else [value]
    found: set[str] = set()
    for item in items:
        if isinstance(item, TicketRefObject):
            found |= {s.casefold() for s in (item.id, item.name) if s}
        elif isinstance(item, dict):
            found |= {str(item[k]).casefold() for k in ("id", "name") if item.get(k)}
        elif item not in (None, ""):
            found.add(str(item).casefold())
    return found


def changes_between(before: Ticket | None, after: Ticket) -> dict[str, tuple[str, str]]:
    """Followed fields that read otherwise after: field → (before, after) as shown. Without a
    before, nothing is known to have changed."""
    if before is None:
        return {}
    out: dict[str, tuple[str, str]] = {}
    for field in CHANGE_FIELDS.values():
        old, new = before.display(field), after.display(field)
        if old != new:
            out[field] = (old, new)
    return out


def closed_now(before: Ticket | None, after: Ticket, changes: dict[str, tuple[str, str]]) -> bool:
    """The change closed the ticket: its status moved to a done-like one (or it was completed)."""
    if "status" in changes:
        return any(word in changes["status"][1].casefold() for word in CLOSED_WORDS)
    return bool(after.completed_at) and before is not None and not before.completed_at
