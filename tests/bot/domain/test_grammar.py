"""The /ticket grammar: every accepted form, and the exact answer to malformed input."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.commands import Assignment, EditCommand, HelpCommand, ShowCommand, UpdateCommand, UserValue
from bot.domain.errors import ParseError
from bot.domain.grammar import parse
from bot.domain.refs import TicketRef

TODAY = date(2026, 11, 27)  # a Friday


def one(text: str) -> Assignment:
    command = parse(text, today=TODAY)
    assert isinstance(command, UpdateCommand)
    assert len(command.assignments) == 1
    return command.assignments[0]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", HelpCommand()),
        ("   ", HelpCommand()),
        ("help", HelpCommand()),
        ("HELP status", HelpCommand()),
        ("show PROJ-42", ShowCommand(TicketRef("PROJ-42"))),
        ("edit ENG-7", EditCommand(TicketRef("ENG-7"))),
        ("PROJ-42", EditCommand(TicketRef("PROJ-42"))),
        ("#123", EditCommand(TicketRef("123"))),
        ("  123  ", EditCommand(TicketRef("123"))),
        (
            "show <https://acme.atlassian.net/browse/PROJ-42|PROJ-42>",
            ShowCommand(TicketRef("PROJ-42", "https://acme.atlassian.net/browse/PROJ-42")),
        ),
        (
            "https://linear.app/acme/issue/ENG-7/crash-on-empty-search",
            EditCommand(TicketRef("ENG-7", "https://linear.app/acme/issue/ENG-7/crash-on-empty-search")),
        ),
        (
            "edit <https://github.com/acme/api/issues/88>",
            EditCommand(TicketRef("88", "https://github.com/acme/api/issues/88")),
        ),
        (
            "show https://acme.zendesk.com/agent/tickets/5120",
            ShowCommand(TicketRef("5120", "https://acme.zendesk.com/agent/tickets/5120")),
        ),
        (
            "show https://app.asana.com/0/1200000000000001/1200000000000099",
            ShowCommand(
                TicketRef("1200000000000099", "https://app.asana.com/0/1200000000000001/1200000000000099")
            ),
        ),
        (
            "update PROJ-42 status=done",
            UpdateCommand(
                TicketRef("PROJ-42"), (Assignment("status", "set", ("done",), None, 15, "status"),)
            ),
        ),
        (
            "PROJ-42 status=done",
            UpdateCommand(TicketRef("PROJ-42"), (Assignment("status", "set", ("done",), None, 8, "status"),)),
        ),
    ],
)
def test_commands(text: str, expected: object) -> None:
    assert parse(text, today=TODAY) == expected


@pytest.mark.parametrize(
    ("text", "field", "op", "values"),
    [
        ('PROJ-42 status="In Progress"', "status", "set", ("In Progress",)),
        ("PROJ-42 status='In Review'", "status", "set", ("In Review",)),
        ("PROJ-42 status=“In Progress”", "status", "set", ("In Progress",)),
        (r'PROJ-42 name="say \"hi\""', "name", "set", ('say "hi"',)),
        ("PROJ-42 name=don't", "name", "set", ("don't",)),
        ('PROJ-42 name="Fix login, again"', "name", "set", ("Fix login, again",)),
        ("PROJ-42 name=a,b", "name", "set", ("a,b",)),
        ('PROJ-42 name="A &amp; B &lt;3"', "name", "set", ("A & B <3",)),
        ("PROJ-42 desc=ping:<@U1|ana>", "description", "set", ("ping:@ana",)),
        ("PROJ-42 title=Hello", "name", "set", ("Hello",)),
        ("PROJ-42 priority=high", "priority", "set", ("high",)),
        ("PROJ-42 type=Bug", "ticket_type", "set", ("Bug",)),
        ("PROJ-42 team=Platform", "team", "set", ("Platform",)),
        ('PROJ-42 tags=a,b,"c d"', "tags", "set", ("a", "b", "c d")),
        ("PROJ-42 tag+=backend", "tags", "add", ("backend",)),
        ("PROJ-42 tags-=frontend,ux", "tags", "remove", ("frontend", "ux")),
        ("PROJ-42 tags=a,,b,", "tags", "set", ("a", "b")),
        ("PROJ-42 collection+=OPS", "collections", "add", ("OPS",)),
        ("PROJ-42 languages=en,pt", "languages", "set", ("en", "pt")),
        ("PROJ-42 status=none", "status", "clear", ()),
        ("PROJ-42 status=NONE", "status", "clear", ()),
        ('PROJ-42 name="none"', "name", "set", ("none",)),
        ("PROJ-42 due=", "due_date", "clear", ()),
        ("PROJ-42 tags=", "tags", "clear", ()),
        ("PROJ-42 parent=PROJ-1", "parent_ticket", "set", (TicketRef("PROJ-1"),)),
        ("PROJ-42 contact=c-77", "contact", "set", ("c-77",)),
        ("PROJ-42 number=77", "number", "set", ("77",)),
    ],
)
def test_values(text: str, field: str, op: str, values: tuple[object, ...]) -> None:
    assignment = one(text)
    assert (assignment.field, assignment.op, assignment.values) == (field, op, values)


def test_single_quote_inside_curly_quotes_closes_at_first_closer() -> None:
    # ‘Ana’s bug’: the ’ after Ana closes the quote; the rest is stray text.
    with pytest.raises(ParseError, match="unexpected text"):
        parse("PROJ-42 name=‘Ana’s bug’ x", today=TODAY)


@pytest.mark.parametrize(
    ("text", "users"),
    [
        ("PROJ-42 assignee=<@U123|ana>", (UserValue("slack", "ana", "U123"),)),
        ("PROJ-42 assignee=<@U123>", (UserValue("slack", "U123", "U123"),)),
        ("PROJ-42 assignee=<@W0ENT|bo>", (UserValue("slack", "bo", "W0ENT"),)),
        ("PROJ-42 assignee=me", (UserValue("me", "me"),)),
        ("PROJ-42 assignee=ana@acme.example", (UserValue("email", "ana@acme.example"),)),
        (
            "PROJ-42 assignee=<mailto:ana@acme.example|ana@acme.example>",
            (UserValue("email", "ana@acme.example"),),
        ),
        ("PROJ-42 assignee=@ana", (UserValue("name", "ana", at_typed=True),)),
        ('PROJ-42 assignee="Ana Lima"', (UserValue("name", "Ana Lima"),)),
        (
            "PROJ-42 assignees+=me,<@U9|bo>,carla",
            (UserValue("me", "me"), UserValue("slack", "bo", "U9"), UserValue("name", "carla")),
        ),
    ],
)
def test_users(text: str, users: tuple[UserValue, ...]) -> None:
    assert one(text).values == users


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-04", date(2026, 12, 4)),
        ("today", TODAY),
        ("tomorrow", TODAY + timedelta(days=1)),
        ("+3d", TODAY + timedelta(days=3)),
        ("+2w", TODAY + timedelta(days=14)),
        ("friday", date(2026, 12, 4)),  # today is Friday: the next one
        ("Mon", date(2026, 11, 30)),
        ("saturday", date(2026, 11, 28)),
        ("2026-12-04T17:00", datetime(2026, 12, 4, 17, 0)),
        ("2026-12-04T17:00Z", datetime(2026, 12, 4, 17, 0, tzinfo=UTC)),
        ("2026-12-04T17:00:00+02:00", datetime(2026, 12, 4, 17, 0, tzinfo=timezone(timedelta(hours=2)))),
    ],
)
def test_dates(value: str, expected: date) -> None:
    assert one(f"PROJ-42 due={value}").values == (expected,)


def test_full_example_from_the_brief() -> None:
    command = parse(
        'update PROJ-42 status="In Progress" priority=high assignee=<@U0ANA|ana> tags+=backend due=friday',
        today=TODAY,
    )
    assert isinstance(command, UpdateCommand)
    summary = [(a.field, a.op, a.values) for a in command.assignments]
    assert summary == [
        ("status", "set", ("In Progress",)),
        ("priority", "set", ("high",)),
        ("assignees", "set", (UserValue("slack", "ana", "U0ANA"),)),
        ("tags", "add", ("backend",)),
        ("due_date", "set", (date(2026, 12, 4),)),
    ]


def test_custom_fields_keep_their_key() -> None:
    command = parse("PROJ-42 cf.story_points=5 custom.Severity=Major", today=TODAY)
    assert isinstance(command, UpdateCommand)
    assert [(a.field, a.custom_key, a.values) for a in command.assignments] == [
        ("custom_fields", "story_points", ("5",)),
        ("custom_fields", "Severity", ("Major",)),
    ]


def test_account_link_patterns_are_used() -> None:
    pattern = r"^https://tracker\.acme\.example/t/(?P<ref>\d+)"
    command = parse("show https://tracker.acme.example/t/991", today=TODAY, link_patterns=[pattern])
    assert command == ShowCommand(TicketRef("991", "https://tracker.acme.example/t/991"))


# (text, position of the offending token, message, start of the hint)
MALFORMED = [
    (
        "updte PROJ-42 status=done",
        0,
        "unknown command 'updte'; did you mean 'update'?",
        "commands: update <ticket> field=value …,",
    ),
    (
        "foo",
        0,
        "'foo' is neither a command nor a ticket reference",
        "commands: update <ticket> field=value …,",
    ),
    ("status=done", 0, "'status=done' comes before any ticket", "start with the ticket: /ticket update PR"),
    ("update", 6, "update needs a ticket", "write /ticket update PROJ-42 (an id such"),
    ("show", 4, "show needs a ticket", "write /ticket show PROJ-42 (an id such a"),
    ("edit", 4, "edit needs a ticket", "write /ticket edit PROJ-42 (an id such a"),
    ("update PROJ-42", 14, "nothing to update on PROJ-42", "add field=value pairs, e.g. /ticket upda"),
    (
        "show PROJ-42 status=done",
        13,
        "unexpected text 'status=done' after show PROJ-42",
        "show takes only a ticket; to change fiel",
    ),
    (
        "edit PROJ-42 extra",
        13,
        "unexpected text 'extra' after edit PROJ-42",
        "edit takes only a ticket; to change fiel",
    ),
    (
        "update PROJ-42 priorty=high",
        15,
        "unknown field 'priorty'; did you mean 'priority'?",
        "fields: title, status, priority, assignee",
    ),
    (
        "update PROJ-42 stauts=done",
        15,
        "unknown field 'stauts'; did you mean 'status'?",
        "fields: title, status, priority, assignee",
    ),
    ("update PROJ-42 bogus=1", 15, "unknown field 'bogus'", "fields: title, status, priority, assignee"),
    (
        "update PROJ-42 items=x",
        21,
        "items must be a JSON object; this is not valid JSON (Expecting value at character 1)",
        'quote the JSON in single quotes: items=\'{"type": "text", "value": "…"}\'',
    ),
    (
        "update PROJ-42 remote_data=x",
        27,
        "remote_data must be a JSON object; this is not valid JSON (Expecting value at character 1)",
        "quote the JSON in single quotes: remote_data='{\"customfield_10010\": 5}'",
    ),
    (
        "update PROJ-42 remote_data='[1, 2]'",
        27,
        "remote_data must be a JSON object",
        "e.g. remote_data='{\"customfield_10010\": 5}'",
    ),
    (
        "update PROJ-42 custom_fields=x",
        15,
        "custom fields are set one at a time",
        "write cf.<field>=value, e.g. cf.story_po",
    ),
    ("update PROJ-42 cf.=5", 15, "cf. names no custom field", "write cf.<field>=value, e.g. cf.story_po"),
    (
        "update PROJ-42 due=someday",
        19,
        "due: 'someday' is not a date",
        "dates: YYYY-MM-DD (2026-12-04), an ISO d",
    ),
    (
        "update PROJ-42 due=2026-02-30",
        19,
        "due: 2026-02-30 is not a real calendar date",
        "dates: YYYY-MM-DD (2026-12-04), an ISO d",
    ),
    (
        "update PROJ-42 due=2026-13-01T10:00",
        19,
        "due: 2026-13-01T10:00 is not a valid ISO datetime",
        "dates: YYYY-MM-DD (2026-12-04), an ISO d",
    ),
    ("update PROJ-42 due=+3x", 19, "due: '+3x' is not a date", "dates: YYYY-MM-DD (2026-12-04), an ISO d"),
    (
        "update PROJ-42 due=today,tomorrow",
        19,
        "due takes one value, got 2: today, tomorrow",
        "quote a value that contains a comma: due",
    ),
    (
        "update PROJ-42 name=Fix login",
        24,
        "unexpected text 'login': expected field=value",
        "to give name a value with spaces, quote ",
    ),
    (
        "update PROJ-42 status = done",
        15,
        "spaces around '=' after 'status'",
        "write field=value with no spaces, and qu",
    ),
    (
        "update PROJ-42 status =done",
        15,
        "spaces around '=' after 'status'",
        "write field=value with no spaces, and qu",
    ),
    (
        "update PROJ-42 status=a status=b",
        24,
        "status is given twice",
        "give each field once; for lists, put sev",
    ),
    (
        "update PROJ-42 assignee=me assignees=ana",
        27,
        "assignees is given twice ('assignee' and 'assignees')",
        "give each field once; for lists, put sev",
    ),
    (
        "update PROJ-42 tags+=a tags-=b",
        23,
        "tags is given twice",
        "give each field once; for lists, put sev",
    ),
    (
        "update PROJ-42 cf.points=1 custom.points=2",
        27,
        "cf.points is given twice ('cf.points' and 'custom.points')",
        "give each field once; for lists, put sev",
    ),
    (
        'update PROJ-42 name="unterminated',
        20,
        'unterminated quote " (no closing quote)',
        "close the quote, or escape a quote insid",
    ),
    (
        "update PROJ-42 name='also unterminated",
        20,
        "unterminated quote ' (no closing quote)",
        "close the quote, or escape a quote insid",
    ),
    (
        "update PROJ-42 name=“curly unterminated",
        20,
        "unterminated quote “ (no closing quote)",
        "close the quote, or escape a quote insid",
    ),
    (
        "update PROJ-42 assignee=<@U123",
        24,
        "unclosed Slack markup '<' with no '>'",
        "mentions and links look like <@U123|ana>",
    ),
    (
        "update PROJ-42 status+=done",
        15,
        "+= works only on list fields (assignees, tags, collections, languages), not status",
        "use status=value to set it",
    ),
    (
        "update PROJ-42 priority-=high",
        15,
        "-= works only on list fields (assignees, tags, collections, languages), not priority",
        "use priority=value to set it",
    ),
    ("update PROJ-42 tags+=", 21, "tags+= needs a value", "e.g. tags+=backend"),
    ("update PROJ-42 assignees-=", 26, "assignees-= needs a value", "e.g. assignees-=@ana"),
    ("update PROJ-42 tags+=none", 21, "tags+= needs a value", "e.g. tags+=backend"),
    (
        "update PROJ-42 status=a,b",
        22,
        "status takes one value, got 2: a, b",
        "quote a value that contains a comma: sta",
    ),
    (
        "update PROJ-42 parent=hello",
        22,
        "parent: 'hello' is not a ticket reference: expected an id such as PROJ-42, 123 or #123, or a ticket URL",
        "",
    ),
    (
        "update <https://example.com/nothing/here|link> status=done",
        7,
        "no ticket id found in the link https://example.com/nothing/here; links recognised: Jira browse URL, Linear issue URL, GitHub issue URL, Zendesk agent ticket URL, Asana task URL, and the patterns configured for this channel's account",
        "",
    ),
    (
        "update not-a-ref status=done",
        7,
        "'not-a-ref' is not a ticket reference: expected an id such as PROJ-42, 123 or #123, or a ticket URL",
        "",
    ),
    (
        "PROJ-42 status=done stray",
        20,
        "unexpected text 'stray': expected field=value",
        "to give status a value with spaces, quot",
    ),
    ("PROJ-42 =done", 8, "'=done' has no field name before the '='", "write field=value, e.g. status=done"),
    ("help!", 0, "unknown command 'help!'; did you mean 'help'?", "commands: update <ticket> field=value …,"),
]


@pytest.mark.parametrize(("text", "position", "message", "hint"), MALFORMED)
def test_malformed(text: str, position: int, message: str, hint: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(text, today=TODAY)
    error = caught.value
    assert (error.position, error.message) == (position, message)
    assert error.hint.startswith(hint)
    assert str(error).startswith(message)


def test_there_are_at_least_thirty_malformed_cases() -> None:
    assert len(MALFORMED) >= 30


def test_pointer_marks_the_offending_token() -> None:
    text = "update PROJ-42 priorty=high"
    with pytest.raises(ParseError) as caught:
        parse(text, today=TODAY)
    assert caught.value.pointer(text).splitlines()[1] == " " * 15 + "^"


_ALPHABET = st.sampled_from([*list("abcXYZ019 =+-,.\"'“”‘’<>@|#:/&;\\\t"), "PROJ-42", "status", "tags", "me"])


@settings(max_examples=300, deadline=None)
@given(st.lists(_ALPHABET, max_size=40).map("".join) | st.text(max_size=80))
def test_any_text_gives_a_command_or_a_parse_error(text: str) -> None:
    try:
        result = parse(text, today=TODAY)
    except ParseError as error:
        assert 0 <= error.position <= len(text)
        assert error.message
    else:
        assert isinstance(result, UpdateCommand | ShowCommand | EditCommand | HelpCommand)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("PROJ-42 name=" + "x" * 300, "name is 300 characters long; at most 255"),
        ("PROJ-42 tags=" + ",".join(f"t{i}" for i in range(51)), "tags lists 51 values; at most 50 at once"),
        (
            "PROJ-42 " + " ".join(f"cf.f{i}=1" for i in range(31)),
            "too many changes in one command; at most 30",
        ),
        ("PROJ-42 desc=" + "y" * 3990, "the command is 4003 characters long; at most 4000"),
    ],
)
def test_caps_are_explained(text: str, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(text, today=TODAY)
    assert caught.value.message == message


def test_invisible_and_control_characters_are_dropped() -> None:
    command = parse("PROJ-42 sta\u200btus=Do\x00ne name=\u202eevil\u202c", today=TODAY)
    assert isinstance(command, UpdateCommand)
    assert [(a.field, a.values) for a in command.assignments] == [("status", ("Done",)), ("name", ("evil",))]


@pytest.mark.parametrize(
    ("text", "refs"),
    [
        ("update OPS-1 OPS-2 OPS-3 status=done", ["OPS-1", "OPS-2", "OPS-3"]),
        ("OPS-1,OPS-2 status=done", ["OPS-1", "OPS-2"]),
        ("update OPS-1, OPS-2 status=done", ["OPS-1", "OPS-2"]),
        ("update OPS-10..OPS-14 status=done", ["OPS-10", "OPS-11", "OPS-12", "OPS-13", "OPS-14"]),
        ("update OPS-9..11 OPS-2 status=done", ["OPS-9", "OPS-10", "OPS-11", "OPS-2"]),
        ("update OPS-1 <https://acme.atlassian.net/browse/OPS-9> status=done", ["OPS-1", "OPS-9"]),
        ("update OPS-1 OPS-2 OPS-1 status=done", ["OPS-1", "OPS-2"]),  # each ticket once
    ],
)
def test_several_tickets_before_the_first_field(text: str, refs: list[str]) -> None:
    command = parse(text, today=TODAY)
    assert isinstance(command, UpdateCommand)
    assert [r.id for r in command.refs] == refs
    assert command.bulk is (len(refs) > 1)
    assert command.assignments == (
        Assignment("status", "set", ("done",), position=text.index("status"), key_text="status"),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "update OPS-1..OPS-51 status=done",
            "the range OPS-1..OPS-51 has 51 tickets; a bulk update takes at most 50",
        ),
        ("update OPS-1..OPS-40 OPS-41..OPS-60 status=done", "60 tickets in one command; at most 50"),
        ("update OPS-5..OPS-2 status=done", "the range OPS-5..OPS-2 runs backwards"),
        ("update OPS-1..ENG-4 status=done", "the range OPS-1..ENG-4 spans two projects"),
        ("show OPS-1,OPS-2", "show takes one ticket"),
        ("update OPS-1 OPS-2", "nothing to update on OPS-1, OPS-2"),
        ("update OPS-1 OPS-2 statsu done", "unexpected text 'statsu': expected field=value"),
    ],
)
def test_bulk_mistakes_are_answered(text: str, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(text, today=TODAY)
    assert str(caught.value).startswith(message)


def test_the_ticket_limit_is_configurable() -> None:
    with pytest.raises(ParseError, match="3 tickets in one command; at most 2"):
        parse("update OPS-1 OPS-2 OPS-3 status=done", max_tickets=2)


def test_an_unknown_field_suggests_the_word_people_type_and_lists_only_what_can_change() -> None:
    with pytest.raises(ParseError) as caught:
        parse("update PROJ-42 assign=me", locked=("created_at", "updated_at", "created_by", "team"))
    assert str(caught.value) == (
        "unknown field 'assign'; did you mean 'assignee'? Fields: title, status, priority, assignee, "
        "due, type, tags, collections, description, parent, workspace, cf.<custom field>"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ('"next friday"', date(2026, 12, 4)),
        ('"in 3 days"', date(2026, 11, 30)),
        ('"in 2 weeks"', date(2026, 12, 11)),
        ('"dec 4"', date(2026, 12, 4)),
        ('"December 4th"', date(2026, 12, 4)),
        ('"jan 2"', date(2027, 1, 2)),  # passed this year: next year's
        ('"end of month"', date(2026, 11, 30)),
    ],
)
def test_dates_people_say(value: str, expected: date) -> None:
    assert one(f"PROJ-42 due={value}").values == (expected,)


@pytest.mark.parametrize(
    ("text", "hint"),
    [
        ("PROJ-42 due=next friday", 'to give due a value with spaces, quote it: due="next friday"'),
        ("PROJ-42 due=dec 4 status=done", 'to give due a value with spaces, quote it: due="dec 4"'),
        (
            "PROJ-42 name=Fix login page status=done",
            'to give name a value with spaces, quote it: name="Fix login page"',
        ),
    ],
)
def test_multi_word_values_get_the_whole_quoted_value_as_hint(text: str, hint: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse(text, today=TODAY)
    assert caught.value.hint == hint


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("friday", date(2026, 12, 4)),  # the coming one
        ("next friday", date(2026, 12, 11)),  # the Friday of next week, not the one in two days
        ("next fri", date(2026, 12, 11)),
        ("next monday", date(2026, 12, 7)),
        ("wednesday", date(2026, 12, 9)),  # a weekday is never today
        ("next wednesday", date(2026, 12, 9)),
    ],
)
def test_next_weekday_on_a_wednesday_is_next_weeks(text: str, expected: date) -> None:
    from bot.domain.dates import parse_date

    assert parse_date(text, date(2026, 12, 2)) == expected


@pytest.mark.parametrize(
    ("text", "title", "fields"),
    [
        ("create Login fails on SSO priority=high", "Login fails on SSO", ("priority",)),
        ('create "a = b, c" type=Bug project=PROJ', "a = b, c", ("ticket_type", "collections")),
        ("create title=Hello due=2026-12-24", "Hello", ("due_date",)),
        ("create", "", ()),
        ("create priority=high", "", ("priority",)),
        ("create Crash cf.severity=major", "Crash", ("custom_fields",)),
    ],
)
def test_create_takes_a_title_then_fields(text: str, title: str, fields: tuple[str, ...]) -> None:
    from bot.domain.commands import CreateCommand

    command = parse(text)
    assert isinstance(command, CreateCommand)
    assert (command.title, command.fields) == (title, fields)


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ("create x tags+=backend", "tags+= changes an existing list; a new ticket has none"),
        ("create x priority=", "priority has no value"),
        ('create "x" title=y', "the title is given twice"),
        ("create x priority=high stray", "unexpected text 'stray' after the fields"),
        ("create " + "t" * 300, "the title is 300 characters long; at most 255"),
    ],
)
def test_create_mistakes_are_named(text: str, said: str) -> None:
    with pytest.raises(ParseError) as raised:
        parse(text)
    assert raised.value.message.startswith(said)
