"""The one sanitiser: over arbitrary Unicode, nothing hidden survives and nothing else is lost."""

from __future__ import annotations

import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.sanitize import clean_json, clean_text

HIDDEN = (
    [chr(c) for c in range(0x00, 0x20) if chr(c) not in "\t\n\r"]
    + [chr(c) for c in range(0x7F, 0xA0)]
    + list("\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180e\u200b\u200e\u200f\u2060\u2800\u3164\ufeff\uffa0")
    + [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
    + [chr(c) for c in range(0xE0000, 0xE0080)]
)
text_with_hidden = st.text(
    alphabet=st.one_of(st.characters(), st.sampled_from(HIDDEN), st.sampled_from("\u200c\u200d \n\t"))
)


@given(text_with_hidden, st.booleans())
def test_no_hidden_character_survives(text: str, multiline: bool) -> None:
    cleaned = clean_text(text, multiline=multiline)
    assert not any(ch in HIDDEN for ch in cleaned)
    if not multiline:
        assert "\n" not in cleaned and "\t" not in cleaned and "\r" not in cleaned


@given(text_with_hidden, st.booleans())
def test_cleaning_is_idempotent_and_keeps_visible_text(text: str, multiline: bool) -> None:
    cleaned = clean_text(text, multiline=multiline)
    assert clean_text(cleaned, multiline=multiline) == cleaned
    visible = [
        ch for ch in text if ch not in HIDDEN and unicodedata.category(ch) not in ("Cf", "Zl", "Zp", "Cc")
    ]
    kept = [ch for ch in cleaned if unicodedata.category(ch) not in ("Cf", "Zl", "Zp", "Cc")]
    assert [ch for ch in visible if not ch.isspace()] == [ch for ch in kept if not ch.isspace()]


@given(
    st.text(min_size=1).filter(lambda t: not any(c.isspace() or unicodedata.category(c)[0] == "C" for c in t))
)
def test_joiners_inside_words_are_kept(word: str) -> None:
    joined = f"{word}\u200d{word}"
    assert clean_text(joined) == joined


def test_joiners_at_word_edges_go() -> None:
    assert clean_text("\u200dab \u200ccd\u200d") == "ab cd"
    assert clean_text("👩\u200d💻 and می\u200cخواهم") == "👩\u200d💻 and می\u200cخواهم"


def test_json_values_are_cleaned_throughout() -> None:
    assert clean_json({"a\u200b": ["x\u202ey", {"k": "v\x00"}], "n": 3}) == {"a": ["xy", {"k": "v"}], "n": 3}
