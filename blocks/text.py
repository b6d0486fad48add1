"""Text for Block Kit: mrkdwn escaping, truncation, summaries (HTML to plain text is
bot/domain/sanitize.py's)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.domain.sanitize import clean_text, html_to_text

__all__ = ["clean", "escape", "html_to_text", "safe_url", "sentence", "summarise", "truncate"]


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
    # A closing parenthesis ends a sentence only after its own stop: "(see the README.)".
    ended = message.endswith(")") and message[-2:-1] in (".", "!", "?")
    if message and not ended and message[-1] not in ".!?…`>":
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


def safe_url(url: str | None) -> str | None:
    """A URL fit for a link or button, or None (no markup characters, http(s) only, ≤ 3000)."""
    if not url or len(url) > 3000 or not re.match(r"^https?://[^\s<>|]+$", url):
        return None
    return url
