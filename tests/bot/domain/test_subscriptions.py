from __future__ import annotations

import pytest

from bot.domain.errors import ParseError
from bot.domain.models import Ticket
from bot.domain.subscriptions import (
    Condition,
    Subscription,
    changes_between,
    closed_now,
    parse_subscribe,
)


def test_the_filter_grammar() -> None:
    request = parse_subscribe(
        'status="In Progress",Done -tags=dependabot assignee=me,none cf.severity=major changed=status '
        "--events updated,closed --fields status,priority --thread=off"
    )
    assert [(c.word, c.values, c.negate) for c in request.clauses] == [
        ("status", ("In Progress", "Done"), False),
        ("tags", ("dependabot",), True),
        ("assignee", ("me", "none"), False),
        ("cf.severity", ("major",), False),
    ]
    assert request.changed == ("status",)
    assert (request.events, request.fields, request.thread) == (
        ("updated", "closed"),
        ("status", "priority"),
        "off",
    )
    assert parse_subscribe("project=OPS").clauses[0].word == "collection"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("priority", "'priority' is not a field=value filter"),
        ("colour=red", "'colour' is not a field a filter can use"),
        ("status=", "status= needs a value"),
        ("--events moved", "--events takes created, updated, closed, deleted"),
        ("--thread maybe", "--thread takes on, off, broadcast"),
        ("changed=colour", "changed= takes title, status"),
        ("--colour red", "unknown option --colour"),
        ("tags=a tags=b", "tags is given twice"),
        ('status="Done', "a quote is not closed"),
    ],
)
def test_a_bad_filter_says_what_would_be_accepted(text: str, said: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_subscribe(text)
    assert str(caught.value).startswith(said)


TICKET = Ticket.model_validate(
    {
        "id": "1",
        "number": "PROJ-1",
        "status": {"id": "s2", "name": "In Progress"},
        "priority": {"id": "p1", "name": "Highest"},
        "tags": [{"id": "t1", "name": "backend"}],
        "assignees": [],
        "custom_fields": {"severity": {"id": "o1", "name": "Major"}},
    }
)


def condition(field: str, *ids: str, negate: bool = False) -> Condition:
    return Condition(word=field, field=field, ids=ids, names=ids, negate=negate)


def test_conditions_match_ids_names_emptiness_and_exclusions() -> None:
    assert condition("priority", "p1").holds(TICKET)
    assert condition("status", "in progress").holds(TICKET)  # by name, any case
    assert not condition("tags", "t1", negate=True).holds(TICKET)
    assert condition("assignees", "").holds(TICKET)  # assignee=none
    assert condition("cf.severity", "major").holds(TICKET)
    assert not condition("cf.severity", "minor").holds(TICKET)


def test_what_changed_and_what_closes() -> None:
    before = TICKET.model_copy(update={"status": {"id": "s1", "name": "To Do"}})
    after = TICKET.model_copy(update={"status": {"id": "s4", "name": "Done"}})
    changes = changes_between(before, after)
    assert changes == {"status": ("To Do", "Done")}
    assert closed_now(before, after, changes)
    assert changes_between(None, after) == {}
    sub = Subscription(id="a", channel="C1", account="ia", changed=("priority",))
    assert not sub.matches(after, changes, "closed")  # priority did not move
    assert Subscription(id="b", channel="C1", account="ia", events=("closed",)).matches(
        after, changes, "closed"
    )
    assert not Subscription(id="c", channel="C1", account="ia", events=("updated",)).matches(
        after, changes, "closed"
    )


def test_digest_times() -> None:
    from datetime import UTC, datetime

    from bot.domain.subscriptions import last_due

    request = parse_subscribe("priority=P0 --digest daily 8:30")
    assert request.digest == "08:30"
    assert parse_subscribe("--digest daily").digest == "09:00"
    now = datetime(2026, 12, 4, 7, 0, tzinfo=UTC)
    assert last_due("09:00", "UTC", now) == datetime(2026, 12, 3, 9, 0, tzinfo=UTC)
    assert last_due("06:00", "UTC", now) == datetime(2026, 12, 4, 6, 0, tzinfo=UTC)
    # 09:00 in New York is 14:00 UTC: at 15:00 UTC today's has come
    due = last_due("09:00", "America/New_York", datetime(2026, 12, 4, 15, 0, tzinfo=UTC))
    assert due.astimezone(UTC) == datetime(2026, 12, 4, 14, 0, tzinfo=UTC)
    assert last_due("09:00", "Not/AZone", now).tzinfo is not None
    with pytest.raises(ParseError, match="--digest takes daily and a time"):
        parse_subscribe("--digest weekly")
