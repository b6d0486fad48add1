"""Text for Block Kit: mrkdwn escaping, truncation, summaries, HTML to plain text."""

from __future__ import annotations

import re
from collections.abc import Sequence
from html import unescape
from html.parser import HTMLParser

from bot.domain.sanitize import clean_text


def clean(text: str) -> str:
    """Ticket text without control, bidi or invisible characters (bot/domain/sanitize.py)."""
    return clean_text(text, multiline=True)


def escape(text: str) -> str:
    """Escape for mrkdwn: exactly &, < and >, so ticket text can never ping or link."""
    return clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def sentence(message: str) -> str:
    """A message as a sentence: a capital first letter (unless its first word is a name as
    typed, such as cf.points or a ticket key) and a closing full stop."""
    first = message.split(" ", 1)[0].rstrip(":;,")
    if first.isalpha() and first.islower() and first != "ticketbot":
        message = message[0].upper() + message[1:]
    if message and message[-1] not in ".!?)…`>":
        message += "."
    return message


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(0, limit - 1)].rstrip() + "…"


def summarise(names: Sequence[str], limit: int, sep: str = ", ") -> str:
    """Join names within `limit` characters, ending with "+N more" when they do not fit."""
    shown: list[str] = []
    used = 0
    for index, name in enumerate(names):
        rest = len(names) - index - 1
        tail = len(f"{sep}+{rest} more") if rest else 0
        cost = len(name) + (len(sep) if shown else 0)
        if used + cost + tail > limit:
            more = f"+{len(names) - index} more"
            return sep.join([*shown, more]) if shown else truncate(name, limit - len(more) - 1) + " " + more
        shown.append(name)
        used += cost
    return sep.join(shown)


class _TextExtractor(HTMLParser):
    _BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BREAKS:
            self.parts.append("\n")
        if tag == "li":
            self.parts.append("• ")

    def handle_data(self, data: str) -> None:
        self.parts.append(data)


def html_to_text(html: str) -> str:
    parser = _TextExtractor()
    parser.feed(html)
    parser.close()
    text = unescape("".join(parser.parts))
    text = re.sub(r"[ \t]+", " ", text)
    return re.sub(r"\n\s*\n+", "\n\n", text).strip()


def safe_url(url: str | None) -> str | None:
    """A URL fit for a link or button, or None (no markup characters, http(s) only, ≤ 3000)."""
    if not url or len(url) > 3000 or not re.match(r"^https?://[^\s<>|]+$", url):
        return None
    return url
