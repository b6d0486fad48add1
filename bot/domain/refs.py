"""Ticket references: ids as typed (PROJ-42, 123, #123) and ticket URLs of known tools."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass

from bot.domain.errors import RefError

# Built-in link patterns; each names the ticket id as the group `ref`.
BUILTIN_LINK_PATTERNS: dict[str, str] = {
    "Jira browse URL": r"^https?://[^/\s]+/browse/(?P<ref>[A-Z][A-Z0-9_]*-\d+)(?:[/?#]|$)",
    "Linear issue URL": r"^https?://linear\.app/[^/\s]+/issue/(?P<ref>[A-Z][A-Z0-9]*-\d+)(?:[/?#]|$)",
    "GitHub issue URL": r"^https?://github\.com/[^/\s]+/[^/\s]+/issues/(?P<ref>\d+)(?:[/?#]|$)",
    "Zendesk agent ticket URL": r"^https?://[^/\s]+\.zendesk\.com/agent/tickets/(?P<ref>\d+)(?:[/?#]|$)",
    "Asana task URL": (
        r"^https?://app\.asana\.com/(?:0/\d+|1/\d+(?:/project/\d+)?/task)/(?P<ref>\d+)(?:[/?#]|$)"
    ),
}
_COMPILED_BUILTINS = [re.compile(p, re.IGNORECASE) for p in BUILTIN_LINK_PATTERNS.values()]
# The tool each built-in URL shape belongs to, whatever the workspace's slug or host.
_TOOL_OF_PATTERN = {"Jira browse URL": "jira", "Linear issue URL": "linear", "GitHub issue URL": "github"}
_TOOL_OF_PATTERN |= {"Zendesk agent ticket URL": "zendesk", "Asana task URL": "asana"}
TOOL_NAMES = {"jira": "Jira", "linear": "Linear", "github": "GitHub", "zendesk": "Zendesk", "asana": "Asana"}


def tool_of_url(url: str) -> str | None:
    """The tool a built-in URL shape names (`linear`, `jira`, …), or None."""
    for name, pattern in BUILTIN_LINK_PATTERNS.items():
        if re.search(pattern, url, re.IGNORECASE):
            return _TOOL_OF_PATTERN.get(name)
    return None


_ID = re.compile(r"^#?(?P<id>[A-Za-z0-9][A-Za-z0-9_.:-]*)$")
REF_FORMS = "an id such as PROJ-42, 123 or #123, or a ticket URL"


@dataclass(frozen=True)
class TicketRef:
    """The ticket a command is about: the id the API takes, and the URL it came from."""

    id: str
    url: str | None = None


def unwrap_slack_link(text: str) -> str:
    """`<https://x|label>` or `<https://x>` → `https://x`; other text unchanged."""
    if text.startswith("<") and text.endswith(">"):
        return text[1:-1].split("|", 1)[0]
    return text


def ref_from_url(url: str, extra_patterns: Iterable[str] = ()) -> TicketRef | None:
    """The ticket a URL points at, by the account's patterns first, then the built-ins."""
    for pattern in [re.compile(p) for p in extra_patterns] + _COMPILED_BUILTINS:
        match = pattern.search(url)
        if match:
            return TicketRef(id=match.group("ref"), url=url)
    return None


def looks_like_id(text: str) -> bool:
    match = _ID.match(text)
    return bool(match) and any(ch.isdigit() for ch in text)


def parse_ref(text: str, extra_patterns: Iterable[str] = ()) -> TicketRef:
    """Parse a typed reference; raises RefError saying what would be accepted."""
    raw = unwrap_slack_link(text)
    if re.match(r"^https?://", raw, re.IGNORECASE):
        ref = ref_from_url(raw, extra_patterns)
        if ref is None:
            known = ", ".join(BUILTIN_LINK_PATTERNS)
            raise RefError(
                f"no ticket id found in the link {raw}; links recognised: {known}, "
                "and the patterns configured for this channel's account"
            )
        return ref
    match = _ID.match(raw)
    if match and looks_like_id(raw):
        return TicketRef(id=match.group("id"))
    raise RefError(f"{text!r} is not a ticket reference: expected {REF_FORMS}")


_KEY_IN_TEXT = re.compile(r"(?<![\w/-])([A-Z][A-Z0-9]{1,9}-\d{1,7})(?![\w-])")


def find_refs(
    text: str, extra_patterns: Iterable[str] = (), key_prefixes: Collection[str] | None = None
) -> list[TicketRef]:
    """Ticket URLs, then keys like PROJ-42, in a piece of text; in order, without repeats. With
    `key_prefixes`, a bare key counts only with one of them (UTF-8 and ISO-9001 are no tickets);
    a URL always counts."""
    patterns = tuple(extra_patterns)
    found: dict[str, TicketRef] = {}
    for url in re.findall(r"https?://[^\s<>|]+", text):
        ref = ref_from_url(url, patterns)
        if ref:
            found.setdefault(ref.id, ref)
    for key in _KEY_IN_TEXT.findall(re.sub(r"https?://[^\s<>|]+", " ", text)):
        if key_prefixes is None or key.rsplit("-", 1)[0] in key_prefixes:
            found.setdefault(key, TicketRef(key))
    return list(found.values())
