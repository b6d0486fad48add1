"""`/ticket list`'s filter: parsed with clear mistakes, matched on tickets."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.errors import ParseError
from bot.domain.models import Ticket
from bot.domain.subscriptions import Condition
from bot.domain.ticket_search import DateRange, TicketFilter, newest_first, parse_list

TODAY = date(2026, 12, 6)  # a Sunday


def test_every_kind_of_word_is_read() -> None:
    asked = parse_list(
        'status="In Progress",Done -tags=dependabot assignee=me created_by=@ana '
        'updated>=monday due<=friday overdue "checkout  latency" project=OPS',
        TODAY,
    )
    assert [(c.word, c.values, c.negate) for c in asked.clauses] == [
        ("status", ("In Progress", "Done"), False),
        ("tags", ("dependabot",), True),
        ("assignee", ("me",), False),
        ("collection", ("OPS",), False),
    ]
    assert asked.created_by == ("@ana",)
    assert asked.dates == {
        "updated_at": DateRange(date(2026, 12, 7), None),
        "due_date": DateRange(None, date(2026, 12, 11)),
    }
    assert asked.overdue and asked.text == "checkout  latency"
    assert parse_list("due=today", TODAY).dates == {"due_date": DateRange(TODAY, TODAY)}


@pytest.mark.parametrize(
    ("typed", "said"),
    [
        ("statuss=done", "'statuss' is not a field a list can filter on"),
        ("checkout", "'checkout' is not a filter word"),
        ("due<=someday", "'someday' is not a date"),
        ("priority>=high", "priority>= compares dates only (updated, due)"),
        ("status=", "status= needs a value"),
        ("status=a status=b", "status is given twice"),
    ],
)
def test_mistakes_say_what_is_wrong(typed: str, said: str) -> None:
    with pytest.raises(ParseError) as refused:
        parse_list(typed, TODAY)
    assert refused.value.message == said


def ticket(**fields: object) -> Ticket:
    return Ticket.model_validate({"id": "1", "name": "Checkout latency spikes", **fields})


def test_a_filter_holds_on_what_the_ticket_is() -> None:
    high = Condition(word="priority", field="priority", ids=("p1",), names=("High",))
    wanted = TicketFilter(
        conditions=(high,),
        creators=frozenset({"u1"}),
        dates={"updated_at": DateRange(date(2026, 12, 1), None)},
        text="LATENCY checkout",
    )
    good = ticket(priority={"id": "p1"}, created_by={"id": "U1"}, updated_at="2026-12-02T10:00:00Z")
    assert wanted.holds(good, TODAY)
    assert not wanted.holds(good.model_copy(update={"name": "Checkout is slow"}), TODAY)
    assert not wanted.holds(good.model_copy(update={"updated_at": "2026-11-30T10:00:00Z"}), TODAY)
    assert not wanted.holds(good.model_copy(update={"updated_at": None}), TODAY)
    assert not wanted.holds(ticket(priority={"id": "p2"}, created_by={"id": "u1"}), TODAY)
    overdue = TicketFilter(overdue=True)
    assert overdue.holds(ticket(due_date="2026-12-05", status={"name": "To Do"}), TODAY)
    assert not overdue.holds(ticket(due_date="2026-12-05", status={"name": "Done"}), TODAY)
    assert not overdue.holds(ticket(due_date="2026-12-06"), TODAY)
    assert not overdue.holds(ticket(), TODAY)


def test_newest_first() -> None:
    tickets = [
        ticket(id="a", updated_at="2026-12-01"),
        ticket(id="b"),
        ticket(id="c", updated_at="2026-12-05"),
    ]
    assert [t.id for t in newest_first(tickets)] == ["c", "a", "b"]
