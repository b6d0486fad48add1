"""One sanitiser for all text that comes from users or tickets and goes into a PATCH or a card.

Removed: C0 and C1 control characters (newline and tab are kept where text may have several
lines), bidirectional embeddings, overrides, isolates and marks (they can disguise text, e.g. a
reversed URL), zero-width and other invisible characters (used to make look-alike names and to
hide text), and tag characters. ZWJ and ZWNJ are kept inside words, where emoji sequences and
scripts such as Persian and the Indic ones need them, and removed elsewhere.
"""

from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from typing import Any

_INVISIBLE_CLASS = (
    "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f"  # C0 (but tab, LF, CR), DEL, C1
    "\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f"  # soft hyphen, CGJ, ALM, fillers, FVS
    "\u200b\u200e\u200f\u202a-\u202e\u2060-\u206f"  # ZWSP, LRM/RLM, embeddings/overrides, isolates
    "\u2800\u3164\ufeff\uffa0\ufff9-\ufffb"  # braille blank, Hangul fillers, BOM, annotations
    "\U0001d173-\U0001d17a\U000e0000-\U000e007f"  # musical format characters, tag characters
)
_INVISIBLE = re.compile(f"[{_INVISIBLE_CLASS}]")
_SEPARATORS = re.compile("[\u2028\u2029]")  # line and paragraph separators
_JOINERS = re.compile("[\u200c\u200d]")
_LINE_BREAKS = re.compile("\r\n?|\n|\t")


def _joiner_inside_word(match: re.Match[str]) -> str:
    text = match.string
    start, end = match.start(), match.end()
    before = text[start - 1] if start > 0 else ""
    after = text[end] if end < len(text) else ""
    inside = bool(before) and bool(after) and not before.isspace() and not after.isspace()
    return match.group() if inside and not _JOINERS.match(before) else ""


def clean_text(text: str, *, multiline: bool = False) -> str:
    """`text` without the characters above; single-line text also loses its line breaks and
    tabs (each becomes a space)."""
    text = _INVISIBLE.sub("", text)
    text = _SEPARATORS.sub("\n", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n") if multiline else _LINE_BREAKS.sub(" ", text)
    if "\u200c" in text or "\u200d" in text:
        text = _JOINERS.sub(_joiner_inside_word, text)
    return text


def clean_json(value: Any, *, multiline: bool = False) -> Any:
    """Every string in a JSON-like value (dict keys too), cleaned."""
    if isinstance(value, str):
        return clean_text(value, multiline=multiline)
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v, multiline=multiline) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_json(v, multiline=multiline) for v in value]
    return value


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
