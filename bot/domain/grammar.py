"""The `/ticket` grammar: a pure function from text to a parsed command or a ParseError.

    update <ref> <field>=<value> …   |   <ref> <field>=<value> …   (update)
    update <ref> <ref> … <field>=<value> …   (a bulk update: refs, OPS-1,OPS-2, OPS-10..OPS-14)
    show <ref>   |   edit <ref>   |   <ref>   (edit)   |   help   |   (empty: help)

Values are bare words, "double", 'single' or Slack's curly quotes (with backslash escapes);
`none` or an empty value clears; commas separate list items; `+=`/`-=` add to and remove
from list fields. Slack markup (`<@U1|ana>`, `<https://…|label>`) is kept whole.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from datetime import date

from rapidfuzz import fuzz, process

from bot.domain.commands import (
    Assignment,
    Command,
    CommentCommand,
    ConnectCommand,
    CreateCommand,
    EditCommand,
    HelpCommand,
    ListCommand,
    NotifyCommand,
    Op,
    RemindCommand,
    ShowCommand,
    SubscribeCommand,
    SubscriptionsCommand,
    UnsubscribeCommand,
    UpdateCommand,
    UserValue,
    Value,
)
from bot.domain.dates import DATE_FORMS, parse_date
from bot.domain.errors import DateError, ParseError, RefError
from bot.domain.fields import ALIASES, CUSTOM_PREFIXES, FIELDS, FieldSpec, Kind, canonical
from bot.domain.refs import REF_FORMS, TicketRef, looks_like_id, parse_ref, unwrap_slack_link
from bot.domain.sanitize import clean_text
from bot.domain.subscriptions import parse_subscribe
from bot.domain.ticket_search import parse_list

VERBS = ("update", "show", "edit", "help")

# Caps on what one command may ask; each refusal says which and what is accepted.
MAX_TEXT = 4000
MAX_ASSIGNMENTS = 30
MAX_LIST_ITEMS = 50
MAX_VALUE = {"name": 255}
_ESCAPES = {"n": "\n", "t": "\t"}
MAX_TEXT_VALUE = 4000
MAX_TICKETS = 50  # tickets in one bulk update (BULK_MAX_TICKETS)
_RANGE = re.compile(
    r"^(?P<prefix>[A-Za-z][A-Za-z0-9_]*)-(?P<start>\d{1,7})\.\.(?:(?P<again>[A-Za-z][A-Za-z0-9_]*)-)?(?P<end>\d{1,7})$"
)
# Control characters (but tab and newlines, which count as spaces), zero-width characters and
# bidirectional overrides: invisible, and a way to make text lie about itself.
_PREVIEW = re.compile(r"(?:^|(?<=\s))--preview(?=\s|$)")
_OPERATORS = {"=": "set", "+=": "add", "-=": "remove"}
_QUOTES = {'"': '"', "'": "'", "“": '”“"', "‘": "’‘'", "”": '”"', "’": "’'"}
_KEY = re.compile(r"([A-Za-z_](?:[A-Za-z0-9_.]|-(?!=))*)(\+=|-=|=)")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|([^>]*))?>$")


@dataclass
class _Item:
    """One value item: text pieces, whether any part was quoted, Slack markup if whole."""

    text: str = ""
    start: int = 0
    quoted: bool = False
    markup: str | None = None


@dataclass
class _RawValue:
    start: int
    end: int
    items: list[_Item] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.items or (
            len(self.items) == 1 and not self.items[0].text and not self.items[0].quoted
        )

    @property
    def joined(self) -> str:
        return ",".join(item.text for item in self.items)

    @property
    def quoted_any(self) -> bool:
        return any(item.quoted for item in self.items)


def _unescape(text: str) -> str:
    """Slack escapes &, < and > in command text; undo it for values."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _plain_markup(markup: str) -> str:
    """Slack markup inside free text, as a person would write it."""
    inner = markup[1:-1]
    target, _, label = inner.partition("|")
    if target.startswith("@"):
        return f"@{label or target[1:]}"
    if target.startswith("#"):
        return f"#{label or target[1:]}"
    if target.startswith("!"):
        return f"@{target[1:].split('^')[0]}"
    if target.startswith("mailto:"):
        return target.removeprefix("mailto:")
    return target


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def word(self) -> tuple[str, int]:
        """The next whitespace-delimited token (Slack markup kept whole)."""
        start = self.pos
        while self.pos < len(self.text) and not self.text[self.pos].isspace():
            if self.text[self.pos] == "<":
                self._markup()
            else:
                self.pos += 1
        return self.text[start : self.pos], start

    def _markup(self) -> str:
        start = self.pos
        end = self.text.find(">", start)
        if end < 0:
            raise ParseError(
                "unclosed Slack markup '<' with no '>'",
                start,
                self.text[start : start + 20],
                "mentions and links look like <@U123|ana> or <https://…|label>",
            )
        self.pos = end + 1
        return self.text[start : self.pos]

    def _quoted(self) -> str:
        start = self.pos
        closers = _QUOTES[self.text[start]]
        self.pos += 1
        out: list[str] = []
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\" and self.pos + 1 < len(self.text):
                escaped = self.text[self.pos + 1]
                out.append(_ESCAPES.get(escaped, escaped))  # \n is a newline, \t a tab
                self.pos += 2
                continue
            if char in closers:
                self.pos += 1
                return _unescape("".join(out))
            out.append(char)
            self.pos += 1
        raise ParseError(
            f"unterminated quote {self.text[start]} (no closing quote)",
            start,
            self.text[start : start + 20],
            'close the quote, or escape a quote inside it with a backslash: name="say \\"hi\\""',
        )

    def value(self) -> _RawValue:
        """Value items up to the next unquoted whitespace; commas split items."""
        raw = _RawValue(start=self.pos, end=self.pos)
        item = _Item(start=self.pos)
        at_item_start = True
        while self.pos < len(self.text) and not self.text[self.pos].isspace():
            char = self.text[self.pos]
            if char == ",":
                raw.items.append(item)
                self.pos += 1
                item = _Item(start=self.pos)
                at_item_start = True
                continue
            if char in _QUOTES and at_item_start:
                item.text += self._quoted()
                item.quoted = True
            elif char == "<":
                markup = self._markup()
                item.markup = markup if at_item_start and self._item_ends() else None
                item.text += _plain_markup(markup)
            else:
                bare_start = self.pos
                while (
                    self.pos < len(self.text)
                    and not self.text[self.pos].isspace()
                    and self.text[self.pos] not in ",<"
                ):
                    self.pos += 1
                item.text += _unescape(self.text[bare_start : self.pos])
            at_item_start = False
        raw.items.append(item)
        raw.end = self.pos
        if len(raw.items) == 1 and not raw.items[0].text and not raw.items[0].quoted:
            raw.items = []
        return raw

    def _item_ends(self) -> bool:
        return self.pos >= len(self.text) or self.text[self.pos].isspace() or self.text[self.pos] == ","


def _field_names() -> list[str]:
    return [name for name, spec in FIELDS.items() if spec.kind not in (Kind.STRUCTURED, Kind.CUSTOM)]


# The fields people change day to day, by the names they type (the API's name when no alias).
EVERYDAY = (
    "name", "status", "priority", "assignees", "due_date", "ticket_type",
    "tags", "team", "collections", "description", "parent_ticket", "workspace",
)  # fmt: skip
_TYPED = {
    "name": "title",
    "assignees": "assignee",
    "due_date": "due",
    "ticket_type": "type",
    "parent_ticket": "parent",
}


def typed_name(field: str) -> str:
    """A field as people type it: title for name, due for due_date, …"""
    return _TYPED.get(field, field)


def fields_hint(locked: Collection[str] = ()) -> str:
    """The fields a user can set here, as they would type them (locked ones left out)."""
    names = [typed_name(name) for name in EVERYDAY if name not in locked]
    return "fields: " + ", ".join(names) + ", cf.<custom field>"


def _user_value(item: _Item) -> UserValue:
    if item.markup:
        mention = _MENTION.match(item.markup)
        if mention:
            return UserValue("slack", mention.group(2) or mention.group(1), mention.group(1))
        target = item.markup[1:-1].split("|", 1)[0]
        if target.startswith("mailto:"):
            return UserValue("email", target.removeprefix("mailto:"))
    text = item.text.strip()
    if not item.quoted and text.lower() == "me":
        return UserValue("me", text)
    if _EMAIL.match(text):
        return UserValue("email", text)
    return UserValue("name", text.removeprefix("@"), at_typed=text.startswith("@"))


def _convert(
    spec: FieldSpec, key: str, raw: _RawValue, today: date, patterns: tuple[str, ...]
) -> tuple[Value, ...]:
    """Turn raw items into typed values for this field."""
    items = [item for item in raw.items if item.text or item.quoted]
    if spec.kind == Kind.TEXT:
        return (raw.joined,)
    if spec.kind == Kind.STRUCTURED:
        return (_structured(spec, key, raw),)
    if spec.kind == Kind.CUSTOM:  # typed later, by the field's definition; a list keeps its items
        # A Slack mention stays a mention, for a user field; other types read it as "@name".
        return tuple(
            _user_value(item) if item.markup and _MENTION.match(item.markup) else item.text
            for item in raw.items
        ) or ("",)
    if spec.is_list:
        if spec.kind == Kind.USERS:
            return tuple(_user_value(item) for item in items)
        return tuple(item.text for item in items)
    if len(items) > 1:
        shown = ", ".join(item.text for item in items)
        raise ParseError(
            f"{key} takes one value, got {len(items)}: {shown}",
            raw.start,
            raw.joined,
            f'quote a value that contains a comma: {key}="{shown}"',
        )
    item = items[0]
    if spec.kind == Kind.USER:
        return (_user_value(item),)
    if spec.kind == Kind.DATE:
        try:
            return (parse_date(item.text, today),)
        except DateError as exc:
            raise ParseError(f"{key}: {exc}", item.start, item.text, f"dates: {DATE_FORMS}") from exc
    if spec.kind == Kind.TICKET:
        try:
            return (parse_ref(item.markup or item.text, patterns),)
        except RefError as exc:
            raise ParseError(f"{key}: {exc}", item.start, item.text) from exc
    return (item.text,)


_STRUCTURED_SHAPES: dict[str, tuple[type | tuple[type, ...], str, str]] = {
    "remote_data": (dict, "a JSON object", """remote_data='{"customfield_10010": 5}'"""),
    # An object in the seed's example; an array of objects where a tool's schema says so (the
    # planner holds each account to its own shape).
    "items": ((dict, list), "a JSON object", """items='{"type": "text", "value": "…"}'"""),
}
MAX_STRUCTURED = 2000  # characters of JSON in one value


def _structured(spec: FieldSpec, key: str, raw: _RawValue) -> str:
    """remote_data and items take JSON as typed (quoted in single quotes); checked here, sent as parsed."""
    shape, what, example = _STRUCTURED_SHAPES[spec.name]
    text = raw.joined
    if len(text) > MAX_STRUCTURED:
        raise ParseError(f"{key} is {len(text)} characters of JSON; at most {MAX_STRUCTURED}", raw.start, key)
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ParseError(
            f"{key} must be {what}; this is not valid JSON ({exc.msg} at character {exc.pos + 1})",
            raw.start,
            text[:20],
            f"quote the JSON in single quotes: {example}",
        ) from None
    if not isinstance(value, shape) or (
        isinstance(value, list) and not all(isinstance(v, dict) for v in value)
    ):
        raise ParseError(f"{key} must be {what}", raw.start, text[:20], f"e.g. {example}")
    return text


def _is_clear(raw: _RawValue) -> bool:
    if raw.empty:
        return True
    return len(raw.items) == 1 and not raw.items[0].quoted and raw.items[0].text.lower() == "none"


def _resolve_key(key: str, position: int, locked: Collection[str] = ()) -> tuple[FieldSpec, str | None]:
    lowered = key.lower()
    for prefix in CUSTOM_PREFIXES:
        if lowered.startswith(prefix):
            custom_key = key[len(prefix) :]
            if not custom_key:
                raise ParseError(
                    f"{key} names no custom field",
                    position,
                    key,
                    "write cf.<field>=value, e.g. cf.story_points=5",
                )
            return FIELDS["custom_fields"], custom_key
    name = canonical(key)
    if name == "custom_fields":
        raise ParseError(
            "custom fields are set one at a time",
            position,
            key,
            "write cf.<field>=value, e.g. cf.story_points=5",
        )
    if name is None:
        # Aliases first: on a tie, the word people type (assign → assignee, not assignees).
        choices = [
            *(alias for alias, name in ALIASES.items() if name not in locked),
            *(n for n in _field_names() if n not in locked),
        ]
        best = process.extractOne(key.lower(), choices, scorer=fuzz.ratio, score_cutoff=60)
        guess = best[0] if best else None
        message = f"unknown field '{key}'"
        if guess:
            message += f"; did you mean '{guess}'?"
        raise ParseError(message, position, key, fields_hint(locked))
    return FIELDS[name], None


def _assignment(
    scanner: _Scanner, today: date, patterns: tuple[str, ...], locked: Collection[str] = ()
) -> Assignment:
    start = scanner.pos
    match = _KEY.match(scanner.text, scanner.pos)
    assert match is not None  # parse() checks before calling
    key, operator = match.group(1), match.group(2)
    spec, custom_key = _resolve_key(key, start, locked)
    scanner.pos = match.end()
    raw = scanner.value()
    op: Op = _OPERATORS[operator]  # type: ignore[assignment]
    if op in ("add", "remove"):
        if not spec.is_list and spec.kind != Kind.CUSTOM:
            raise ParseError(
                f"{operator} works only on list fields (assignees, tags, collections, languages), not {key}",
                start,
                f"{key}{operator}",
                f"use {key}=value to set it",
            )
        if _is_clear(raw):
            raise ParseError(
                f"{key}{operator} needs a value",
                raw.start,
                f"{key}{operator}",
                f"e.g. {key}{operator}{'@ana' if spec.kind == Kind.USERS else 'backend'}",
            )
    elif _is_clear(raw):
        return Assignment(spec.name, "clear", (), custom_key, start, key)
    try:
        values = _convert(spec, key, raw, today, patterns)
    except ParseError as exc:
        more = _words_until_next_field(scanner.text, scanner.pos)
        if more and not raw.quoted_any:
            # `due=next friday`: the first word alone is no value; the whole may be.
            whole = f"{scanner.text[raw.start : scanner.pos].strip()} {more}"
            raise ParseError(
                exc.message,
                exc.position,
                exc.token,
                f'to give {key} a value with spaces, quote it: {key}="{whole}"',
            ) from None
        raise
    _check_size(spec, key, values, raw.start)
    return Assignment(spec.name, op, values, custom_key, start, key)


def _check_size(spec: FieldSpec, key: str, values: tuple[Value, ...], position: int) -> None:
    if spec.is_list and len(values) > MAX_LIST_ITEMS:
        raise ParseError(
            f"{key} lists {len(values)} values; at most {MAX_LIST_ITEMS} at once",
            position,
            key,
            "split the change",
        )
    limit = MAX_VALUE.get(spec.name, MAX_TEXT_VALUE)
    for value in values:
        if isinstance(value, str) and len(value) > limit:
            raise ParseError(
                f"{key} is {len(value)} characters long; at most {limit}", position, value[:20], "shorten it"
            )


def _stray(token: str, position: int, text: str, previous: Assignment | None) -> ParseError:
    if token.startswith(("=", "+=", "-=")):
        return ParseError(
            f"'{token}' has no field name before the '='",
            position,
            token,
            "write field=value, e.g. status=done",
        )
    if _followed_by_operator(text, position + len(token)):
        return ParseError(
            f"spaces around '=' after '{token}'",
            position,
            token,
            'write field=value with no spaces, and quote values with spaces: name="Fix login"',
        )
    hint = 'quote values that contain spaces, e.g. name="Fix the login page"'
    if previous is not None:
        before = text[previous.position : position].rstrip()
        match = _KEY.match(before)
        value = before[match.end() :] if match else ""
        if match and value and value[0] not in _QUOTES:
            whole = f"{value} {_words_until_next_field(text, position)}"
            hint = f'to give {match.group(1)} a value with spaces, quote it: {match.group(0)}"{whole}"'
    return ParseError(f"unexpected text '{token}': expected field=value", position, token, hint)


def _words_until_next_field(text: str, position: int) -> str:
    """The bare words after `position`, up to the next field=value (or the end)."""
    words = []
    for match in re.finditer(r"\S+", text[position:]):
        if _KEY.match(match.group(0)):
            break
        words.append(match.group(0))
    return " ".join(words)


def _followed_by_operator(text: str, position: int) -> bool:
    return bool(re.match(r"\s+(\+=|-=|=)", text[position:]))


def _check_repeats(assignments: list[Assignment]) -> None:
    seen: dict[tuple[str, str | None], Assignment] = {}
    for item in assignments:
        key = (item.field, item.custom_key.lower() if item.custom_key else None)
        if key in seen:
            first = seen[key]
            name = f"cf.{item.custom_key}" if item.custom_key else item.field
            typed = f" ('{first.key_text}' and '{item.key_text}')" if first.key_text != item.key_text else ""
            raise ParseError(
                f"{name} is given twice{typed}",
                item.position,
                item.key_text,
                "give each field once; for lists, put several values in one: tags+=a,b",
            )
        seen[key] = item


def _parse_ref_token(token: str, position: int, patterns: tuple[str, ...]) -> TicketRef:
    try:
        return parse_ref(token, patterns)
    except RefError as exc:
        raise ParseError(str(exc), position, token) from exc


def _near_verb(word: str) -> str | None:
    best = process.extractOne(word.lower(), [*VERBS, *SUBSCRIPTION_VERBS], score_cutoff=70)
    return best[0] if best else None


def _expand(token: str, position: int, patterns: tuple[str, ...], limit: int) -> list[TicketRef]:
    """One typed token: a ticket, comma-separated tickets, or a range within one project."""
    parts = [token] if token.startswith("<") or "://" in token else [p for p in token.split(",") if p]
    refs: list[TicketRef] = []
    for part in parts:
        span = _RANGE.match(part)
        if span is None:
            refs.append(_parse_ref_token(part, position, patterns))
            continue
        prefix, again = span.group("prefix"), span.group("again")
        start, end = int(span.group("start")), int(span.group("end"))
        if again is not None and again.upper() != prefix.upper():
            raise ParseError(
                f"the range {part} spans two projects",
                position,
                part,
                f"write {prefix}-{start}..{prefix}-{end}",
            )
        if end < start:
            raise ParseError(
                f"the range {part} runs backwards",
                position,
                part,
                f"write the first ticket first: {prefix}-{end}..{prefix}-{start}",
            )
        if end - start >= limit:
            raise ParseError(
                f"the range {part} has {end - start + 1} tickets; a bulk update takes at most {limit}",
                position,
                part,
                f"split it: {prefix}-{start}..{prefix}-{start + limit - 1}, then the rest",
            )
        refs += [TicketRef(id=f"{prefix}-{n}") for n in range(start, end + 1)]
    return refs


def _is_ref_token(token: str) -> bool:
    if _RANGE.match(token):
        return True
    target = unwrap_slack_link(token)
    if target.lower().startswith(("http://", "https://")):
        return True
    return all(looks_like_id(part) or _RANGE.match(part) for part in token.split(",") if part) and bool(
        token.strip(",")
    )


def _more_refs(
    scanner: _Scanner, first: TicketRef, patterns: tuple[str, ...], limit: int
) -> tuple[TicketRef, ...]:
    """The tickets after the first, up to the first field=value; duplicates counted once."""
    refs = [first]
    start = scanner.pos
    while not scanner.at_end() and not _KEY.match(scanner.text, scanner.pos):
        save = scanner.pos
        token, position = scanner.word()
        if not _is_ref_token(token):
            scanner.pos = save  # not a ticket: the field loop says what is wrong with it
            break
        refs += _expand(token, position, patterns, limit)
        scanner.skip_space()
    unique = list(dict.fromkeys(refs))
    if len(unique) > limit:
        raise ParseError(
            f"{len(unique)} tickets in one command; at most {limit}",
            start,
            scanner.text[start : start + 20],
            "split them into several commands",
        )
    return tuple(unique[1:])


def parse(
    text: str,
    *,
    today: date | None = None,
    link_patterns: Iterable[str] = (),
    max_tickets: int = MAX_TICKETS,
    locked: Collection[str] = (),
) -> Command:
    """Parse `/ticket` text. Raises ParseError, and nothing else, on any bad input."""
    today = today or date.today()
    patterns = tuple(link_patterns)
    if len(text) > MAX_TEXT:
        raise ParseError(
            f"the command is {len(text)} characters long; at most {MAX_TEXT}",
            MAX_TEXT,
            text[MAX_TEXT : MAX_TEXT + 20],
            "split it into several updates, or edit the ticket with /ticket edit",
        )
    text = clean_text(text, multiline=True)
    text, previews = _PREVIEW.subn(" ", text)
    scanner = _Scanner(text)
    scanner.skip_space()
    if scanner.at_end():
        return HelpCommand()
    first, first_pos = scanner.word()
    verb = first.lower()
    if verb == "help":
        scanner.skip_space()
        return HelpCommand()
    if verb == "comment":
        return _comment(text, scanner, patterns)
    if verb == "create":
        return _create(scanner, today, patterns, locked)
    if verb == "remind":
        rest = text[scanner.pos :].strip().lower()
        if rest not in ("due", "on", "off"):
            raise ParseError(
                "remind takes due or off",
                scanner.pos,
                rest or verb,
                "/ticket remind due: each morning, a DM of the tickets assigned to you due within two "
                "days or overdue; /ticket remind off stops it",
            )
        return RemindCommand(rest != "off")
    if verb in ("list", "find"):
        try:
            return ListCommand(parse_list(text[scanner.pos :], today))
        except ParseError as exc:
            raise ParseError(exc.message, exc.position + scanner.pos, exc.token, exc.hint) from None
    if verb in ("connect", "disconnect"):
        rest = text[scanner.pos :].strip()
        if rest:
            raise ParseError(
                f"{verb} takes nothing after it",
                scanner.pos,
                rest.split()[0],
                "/ticket connect: your own account of this channel's tool; /ticket disconnect: remove it",
            )
        return ConnectCommand(verb == "connect")
    if verb == "notify":
        rest = text[scanner.pos :].strip().lower()
        if rest not in ("on", "off"):
            raise ParseError(
                "notify takes on or off",
                scanner.pos,
                rest or verb,
                "/ticket notify on: a DM when a ticket is assigned to you, when one assigned to or "
                "created by you changes status or priority, or mentions you",
            )
        return NotifyCommand(rest == "on")
    if verb in SUBSCRIPTION_VERBS:
        return _subscription_command(verb, text[scanner.pos :], scanner.pos)
    if verb in VERBS:
        scanner.skip_space()
        if scanner.at_end():
            raise ParseError(
                f"{verb} needs a ticket",
                scanner.pos,
                verb,
                f"write /ticket {verb} PROJ-42 ({REF_FORMS})",
            )
        ref_token, ref_pos = scanner.word()
    else:
        _reject_non_ref(first, first_pos, patterns)
        verb, ref_token, ref_pos = "", first, first_pos
    first_refs = _expand(ref_token, ref_pos, patterns, max_tickets)
    ref = first_refs[0]

    assignments: list[Assignment] = []
    scanner.skip_space()
    more: tuple[TicketRef, ...] = ()
    if verb in ("update", ""):
        scanner_refs = _more_refs(scanner, ref, patterns, max_tickets)
        more = tuple(dict.fromkeys([*first_refs[1:], *scanner_refs]))
        more = tuple(r for r in more if r != ref)
        if len(more) + 1 > max_tickets:
            raise ParseError(
                f"{len(more) + 1} tickets in one command; at most {max_tickets}",
                ref_pos,
                ref_token,
                "split them into several commands",
            )
    elif len(first_refs) > 1:
        raise ParseError(f"{verb} takes one ticket", ref_pos, ref_token, f"write /ticket {verb} {ref.id}")
    while not scanner.at_end():
        if verb in ("show", "edit"):
            token, position = scanner.word()
            raise ParseError(
                f"unexpected text '{token}' after {verb} {ref_token}",
                position,
                token,
                f"{verb} takes only a ticket; to change fields: /ticket update {ref_token} status=done",
            )
        if not _KEY.match(scanner.text, scanner.pos):
            token, position = scanner.word()
            raise _stray(token, position, scanner.text, assignments[-1] if assignments else None)
        if len(assignments) == MAX_ASSIGNMENTS:
            token, position = scanner.word()
            raise ParseError(
                f"too many changes in one command; at most {MAX_ASSIGNMENTS}",
                position,
                token,
                "split it into several updates",
            )
        assignments.append(_assignment(scanner, today, patterns, locked))
        scanner.skip_space()
    _check_repeats(assignments)

    if verb == "show":
        return ShowCommand(ref)
    if (verb == "edit" or (not verb and not assignments)) and not more:
        return EditCommand(ref)
    if not assignments:
        raise ParseError(
            f"nothing to update on {', '.join(r.id for r in (ref, *more))}",
            len(text.rstrip()),
            ref_token,
            f'add field=value pairs, e.g. /ticket update {ref_token} status="In Progress"',
        )
    return UpdateCommand(ref, tuple(assignments), preview=bool(previews), more=more)


SUBSCRIPTION_VERBS = (
    "subscribe",
    "subscriptions",
    "unsubscribe",
    "notify",
    "comment",
    "connect",
    "disconnect",
)
_QUOTES = {'"': '"', "“": "”", "'": "'"}


def _comment(text: str, scanner: _Scanner, patterns: tuple[str, ...]) -> Command:
    """`comment <ticket> <text>`: the text as typed (quotes around it dropped)."""
    scanner.skip_space()
    hint = '/ticket comment PROJ-42 "Deployed the fix"'
    if scanner.at_end():
        raise ParseError("comment needs a ticket and the comment's text", scanner.pos, "comment", hint)
    token, position = scanner.word()
    ref = _parse_ref_token(token, position, patterns)
    said = text[scanner.pos :].strip()
    if len(said) >= 2 and said[0] in _QUOTES and said[-1] == _QUOTES[said[0]]:
        said = said[1:-1].strip()
    if not said:
        raise ParseError(f"comment {token} needs the comment's text", len(text), token, hint)
    return CommentCommand(ref, said)


def _create(
    scanner: _Scanner, today: date, patterns: tuple[str, ...], locked: Collection[str]
) -> CreateCommand:
    """`create <title> [field=value …]`: the title quoted, or the words before the first field.
    Fields take `=` only (a new ticket has no list to add to or take from); `/ticket create`
    alone, or fields without a title, leave the title to the form."""
    scanner.skip_space()
    title = ""
    if not scanner.at_end() and scanner.text[scanner.pos] in _QUOTES:
        title = scanner._quoted().strip()
    else:
        words: list[str] = []
        while not scanner.at_end() and not _KEY.match(scanner.text, scanner.pos):
            words.append(scanner.word()[0])
            scanner.skip_space()
        title = _unescape(" ".join(words)).strip()
    if len(title) > MAX_VALUE["name"]:
        raise ParseError(
            f"the title is {len(title)} characters long; at most {MAX_VALUE['name']}",
            scanner.pos,
            title[:20],
            'put the rest in description="…"',
        )
    assignments: list[Assignment] = []
    scanner.skip_space()
    while not scanner.at_end():
        if not _KEY.match(scanner.text, scanner.pos):
            token, position = scanner.word()
            raise ParseError(
                f"unexpected text '{token}' after the fields",
                position,
                token,
                'the title comes first (quoted when it has an =): /ticket create "Login fails" priority=high',
            )
        if len(assignments) == MAX_ASSIGNMENTS:
            token, position = scanner.word()
            raise ParseError(
                f"too many fields in one command; at most {MAX_ASSIGNMENTS}", position, token, "use the form"
            )
        assignment = _assignment(scanner, today, patterns, locked)
        if assignment.op in ("add", "remove"):
            operator = "+=" if assignment.op == "add" else "-="
            raise ParseError(
                f"{assignment.key_text}{operator} changes an existing list; a new ticket has none",
                assignment.position,
                f"{assignment.key_text}{operator}",
                f"write {assignment.key_text}=…",
            )
        if assignment.op == "clear":
            raise ParseError(
                f"{assignment.key_text} has no value",
                assignment.position,
                assignment.key_text,
                f"give it one, or leave {assignment.key_text} out",
            )
        assignments.append(assignment)
        scanner.skip_space()
    _check_repeats(assignments)
    named = next((a for a in assignments if a.field == "name"), None)
    if named is not None and title:
        raise ParseError(
            "the title is given twice (before the fields and as title=)",
            named.position,
            named.key_text,
            "keep one",
        )
    if named is not None:
        title = str(named.values[0]) if named.values else ""
    return CreateCommand(title, tuple(a for a in assignments if a is not named))


def _subscription_command(verb: str, rest: str, offset: int) -> Command:
    rest = rest.strip()
    if verb == "subscribe":
        if rest == "":
            return SubscribeCommand(None)
        if rest == "help":
            return HelpCommand(topic="subscribe")
        try:
            return SubscribeCommand(parse_subscribe(rest))
        except ParseError as exc:
            raise ParseError(exc.message, exc.position + offset, exc.token, exc.hint) from None
    if verb == "subscriptions":
        if rest:
            raise ParseError(
                f"unexpected text '{rest.split()[0]}' after subscriptions",
                offset,
                rest.split()[0],
                "/ticket subscriptions lists this channel's; /ticket unsubscribe 2 removes the second",
            )
        return SubscriptionsCommand()
    if not rest.isdigit() or int(rest) < 1:
        raise ParseError(
            "unsubscribe needs the subscription's number",
            offset,
            rest or verb,
            "/ticket subscriptions numbers this channel's; then /ticket unsubscribe 2",
        )
    return UnsubscribeCommand(int(rest))


def _reject_non_ref(word: str, position: int, patterns: tuple[str, ...]) -> None:
    """The first word is no verb: it must be a ticket reference, else say what it is."""
    if _KEY.match(word):
        raise ParseError(
            f"'{word}' comes before any ticket",
            position,
            word,
            "start with the ticket: /ticket update PROJ-42 status=done",
        )
    if _is_ref_token(word):
        return
    guess = _near_verb(word)
    if guess:
        raise ParseError(f"unknown command '{word}'; did you mean '{guess}'?", position, word, _VERBS_HINT)
    raise ParseError(f"'{word}' is neither a command nor a ticket reference", position, word, _VERBS_HINT)


_VERBS_HINT = (
    "commands: update <ticket> field=value …, create <title> field=value …, show <ticket>, "
    "edit <ticket>, subscribe <filter>, subscriptions, unsubscribe <n>, notify on|off, "
    "comment <ticket> <text>, connect, disconnect, help; "
    f"a ticket is {REF_FORMS}"
)
