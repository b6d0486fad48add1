"""Dates as users type them: 2026-12-04, ISO datetimes, today, tomorrow, +3d, +2w, friday,
next friday, in 3 days, dec 4, end of month. Hand-written rather than dateparser: these few
English forms are what the grammar documents, and dateparser would add about a second of
import time (and locale guesses such as reading 04/12 two ways) to every start."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

from bot.domain.errors import DateError

DATE_FORMS = (
    "YYYY-MM-DD (2026-12-04), an ISO datetime (2026-12-04T17:00 or 2026-12-04T17:00Z), "
    'today, tomorrow, +3d, +2w, a weekday (friday, "next friday"), "in 3 days", "dec 4", "end of month" '
    "(quoted when it has spaces)"
)

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RELATIVE = re.compile(r"^\+(\d{1,4})([dw])$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_IN = re.compile(r"^in (\d{1,4}) (day|days|week|weeks)$")
_FULL_MONTHS = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
_MONTH_DAY = re.compile(
    r"^([a-z]{3,9})\.? (\d{1,2})(?:st|nd|rd|th)?$|^(\d{1,2})(?:st|nd|rd|th)? ([a-z]{3,9})$"
)


def _month_day(word: str, today: date) -> date | None:
    """dec 4, december 4th, 4 dec: the next such day (this year, or next if it has passed)."""
    match = _MONTH_DAY.match(word)
    if match is None:
        return None
    name, day = (match.group(1), match.group(2)) if match.group(1) else (match.group(4), match.group(3))
    month = next((i + 1 for i, full in enumerate(_FULL_MONTHS) if full.startswith(name)), None)
    if month is None:
        return None
    for year in (today.year, today.year + 1):
        try:
            found = date(year, month, int(day))
        except ValueError:
            raise DateError(f"{word} is not a real calendar date") from None
        if found >= today:
            return found
    return None


def _weekday(word: str) -> int | None:
    for index, name in enumerate(_WEEKDAYS):
        if word == name or (len(word) >= 3 and name.startswith(word)):
            return index
    return None


def parse_date(text: str, today: date) -> date | datetime:
    """Parse `text` relative to `today`; a weekday means the next one after today, "next" and a
    weekday that day of next week."""
    word = text.strip().lower()
    if word == "today":
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    relative = _RELATIVE.match(word)
    if relative:
        amount = int(relative.group(1)) * (7 if relative.group(2) == "w" else 1)
        return today + timedelta(days=amount)
    word = " ".join(word.split())
    if word in ("end of month", "end of the month"):
        following = date(today.year + today.month // 12, today.month % 12 + 1, 1)
        return following - timedelta(days=1)
    if word in ("end of week", "end of the week"):
        return today + timedelta(days=(4 - today.weekday()) % 7)  # this week's Friday
    within = _IN.match(word)
    if within:
        amount = int(within.group(1)) * (7 if within.group(2).startswith("week") else 1)
        return today + timedelta(days=amount)
    if word.startswith("next ") and _weekday(word[5:]) is not None:
        # "next friday" is the Friday of next week (on a Wednesday, not the one in two days);
        # a bare "friday" is the coming one.
        next_monday = today + timedelta(days=7 - today.weekday())
        return next_monday + timedelta(days=_weekday(word[5:]) or 0)
    word = word.removeprefix("next ")
    on_day = _month_day(word, today)
    if on_day is not None:
        return on_day
    weekday = _weekday(word)
    if weekday is not None:
        ahead = (weekday - today.weekday()) % 7 or 7
        return today + timedelta(days=ahead)
    if _ISO_DATE.match(word):
        try:
            return date.fromisoformat(word)
        except ValueError as exc:
            raise DateError(f"{text} is not a real calendar date") from exc
    if re.match(r"^\d{4}-\d{2}-\d{2}[t ]", word):
        try:
            return datetime.fromisoformat(text.strip().replace("z", "Z").replace("Z", "+00:00"))
        except ValueError as exc:
            raise DateError(f"{text} is not a valid ISO datetime") from exc
    raise DateError(f"{text!r} is not a date")
