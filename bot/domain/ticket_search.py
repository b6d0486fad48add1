"""`/ticket list <filter>` (alias `find`): which tickets to show, parsed and matched. Pure.

The filter is a subscription's words (status, priority, type, tags, team, collection or project,
assignee=me|@someone|none, cf.<field>, several values comma separated, `-field=` to exclude)
and: `created_by=me|@someone`, `updated>=monday`, `updated<=2026-12-01`, `due<=friday`,
`due>=…`, `due=today`, `overdue` (due before today and not closed), and text in quotes matched
against the title ("checkout latency": every word of it, in any case).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from bot.domain.dates import parse_date
from bot.domain.errors import ParseError
from bot.domain.models import Ticket
from bot.domain.subscriptions import (
    ALIASES,
    CLOSED_WORDS,
    FILTER_FIELDS,
    MAX_CLAUSES,
    MAX_FILTER_CHARS,
    MAX_VALUES,
    Clause,
    Condition,
)

LIST_HINT = (
    "a list's filter is field=value words: status, priority, type, tags, team, collection (or "
    "project), assignee (me, @someone, none), cf.<field>, created_by=me, updated>=monday, "
    'due<=friday, overdue, and "words in the title" in quotes; -field= excludes'
)
_TOKEN = re.compile(
    r"""(?P<neg>-?)(?P<key>[A-Za-z_][\w.]*)(?P<op>>=|<=|=)(?P<value>(?:"[^"]*"|“[^”]*”|'[^']*'|[^\s"“']+)*)"""
    r"""|"(?P<dq>[^"]*)"|“(?P<cq>[^”]*)”|'(?P<sq>[^']*)'|(?P<bare>\S+)"""
)
DATED = {"updated": "updated_at", "due": "due_date"}
CREATOR_WORDS = ("created_by", "creator", "reporter")


@dataclass(frozen=True)
class DateRange:
    start: date | None = None
    end: date | None = None

    def holds(self, day: date | None) -> bool:
        if day is None:
            return False
        return (self.start is None or day >= self.start) and (self.end is None or day <= self.end)


@dataclass(frozen=True)
class ListRequest:
    clauses: tuple[Clause, ...] = ()
    created_by: tuple[str, ...] = ()  # as typed: me, @someone, an email, a name
    dates: dict[str, DateRange] = field(default_factory=dict)  # ticket field → range
    overdue: bool = False
    text: str = ""  # words every one of which the title holds


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] in "\"'“" and value[-1] in "\"'”":
        return value[1:-1]
    return value


_ITEM = re.compile(r"""(?:"[^"]*"|“[^”]*”|'[^']*'|[^,"“']+)+""")


def _values(value: str) -> tuple[str, ...]:
    """Comma-separated values, each quoted or not."""
    return tuple(v for v in (_unquote(m.group(0).strip()).strip() for m in _ITEM.finditer(value)) if v)


def _day(value: str, today: date, position: int, token: str) -> date:
    try:
        parsed = parse_date(_unquote(value), today)
    except (ParseError, ValueError):
        raise ParseError(
            f"'{_unquote(value)}' is not a date", position, token, "e.g. monday, 2026-12-01, +3d, today"
        ) from None
    return parsed.date() if isinstance(parsed, datetime) else parsed


def parse_list(text: str, today: date) -> ListRequest:
    """The words after `/ticket list`. ParseError, with what would be accepted."""
    if len(text) > MAX_FILTER_CHARS:
        raise ParseError(
            f"a list's filter is at most {MAX_FILTER_CHARS} characters",
            MAX_FILTER_CHARS,
            text[-10:],
            LIST_HINT,
        )
    clauses: list[Clause] = []
    creators: tuple[str, ...] = ()
    dates: dict[str, DateRange] = {}
    overdue = False
    words: list[str] = []
    for found in _TOKEN.finditer(text):
        position, token = found.start(), found.group(0)
        quoted = found.group("dq") or found.group("cq") or found.group("sq")
        if quoted is not None:
            words.append(quoted.strip())
            continue
        bare = found.group("bare")
        if bare is not None:
            if bare.lower() == "overdue":
                overdue = True
                continue
            if bare.startswith(('"', "“", "'")):
                raise ParseError(
                    "a quote is not closed", position, bare, 'text to find goes in quotes: "checkout latency"'
                )
            raise ParseError(
                f"'{bare}' is not a filter word",
                position,
                bare,
                'put text to find in the title in quotes: "' + bare + '"',
            )
        negate, key, op, value = (
            found.group("neg") == "-",
            found.group("key").lower(),
            found.group("op"),
            found.group("value"),
        )
        key = ALIASES.get(key, key)
        if key in DATED:
            day = _day(value, today, position, token)
            before = dates.get(DATED[key], DateRange())
            if op == ">=":
                dates[DATED[key]] = DateRange(day, before.end)
            elif op == "<=":
                dates[DATED[key]] = DateRange(before.start, day)
            else:
                dates[DATED[key]] = DateRange(day, day)
            continue
        if op != "=":
            raise ParseError(
                f"{key}{op} compares dates only (updated, due)", position, token, f"write {key}=value"
            )
        if not _values(value):
            raise ParseError(f"{key}= needs a value", position, token, LIST_HINT)
        if key in CREATOR_WORDS:
            creators = _values(value)
            continue
        if key not in FILTER_FIELDS and not (key.startswith("cf.") and len(key) > 3):
            raise ParseError(f"'{key}' is not a field a list can filter on", position, token, LIST_HINT)
        if len(_values(value)) > MAX_VALUES:
            raise ParseError(f"{key}= takes at most {MAX_VALUES} values", position, token[:40], LIST_HINT)
        if any(c.word == key and c.negate == negate for c in clauses):
            raise ParseError(
                f"{key} is given twice", position, key, f"give its values once, comma separated: {key}=a,b"
            )
        clauses.append(Clause(key, _values(value), negate, position))
        if len(clauses) > MAX_CLAUSES:
            raise ParseError(
                f"a list takes at most {MAX_CLAUSES} conditions", position, token[:40], LIST_HINT
            )
    return ListRequest(tuple(clauses), creators, dates, overdue, " ".join(w for w in words if w))


def _day_of(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).date()
    except ValueError:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None


def is_closed(ticket: Ticket) -> bool:
    status = (ticket.status_name or "").casefold()
    return bool(ticket.completed_at) or any(word in status for word in CLOSED_WORDS)


@dataclass(frozen=True)
class TicketFilter:
    """A list's filter resolved: conditions by id, the creators' ids, date ranges, words."""

    conditions: tuple[Condition, ...] = ()
    creators: frozenset[str] | None = None  # casefolded ids and names; None: any creator
    dates: dict[str, DateRange] = field(default_factory=dict)
    overdue: bool = False
    text: str = ""

    def holds(self, ticket: Ticket, today: date) -> bool:
        if not all(condition.holds(ticket) for condition in self.conditions):
            return False
        if self.creators is not None:
            creator = ticket.created_by
            found = (
                {str(creator.id or "").casefold(), str(creator.name or "").casefold()} if creator else set()
            )
            if not (found - {""}) & self.creators:
                return False
        for name, wanted in self.dates.items():
            if not wanted.holds(_day_of(getattr(ticket, name, None))):
                return False
        if self.overdue:
            due = _day_of(ticket.due_date)
            if due is None or due >= today or is_closed(ticket):
                return False
        title = (ticket.name or "").casefold()
        return all(word in title for word in self.text.casefold().split())


def newest_first(tickets: list[Ticket]) -> list[Ticket]:
    """By last update, newest first (tickets without one last)."""
    return sorted(tickets, key=lambda t: t.updated_at or "", reverse=True)
