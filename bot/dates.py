"""Dates as users type them: 2026-12-04, ISO datetimes, today, tomorrow, +3d, +2w, friday."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

DATE_FORMS = (
    "YYYY-MM-DD (2026-12-04), an ISO datetime (2026-12-04T17:00 or 2026-12-04T17:00Z), "
    "today, tomorrow, +3d, +2w, or a weekday name (friday, fri)"
)

_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_RELATIVE = re.compile(r"^\+(\d{1,4})([dw])$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class DateError(ValueError):
    """The text is not a date in any accepted form."""


def _weekday(word: str) -> int | None:
    for index, name in enumerate(_WEEKDAYS):
        if word == name or (len(word) >= 3 and name.startswith(word)):
            return index
    return None


def parse_date(text: str, today: date) -> date | datetime:
    """Parse `text` relative to `today`; a weekday means the next one after today."""
    word = text.strip().lower()
    if word == "today":
        return today
    if word == "tomorrow":
        return today + timedelta(days=1)
    relative = _RELATIVE.match(word)
    if relative:
        amount = int(relative.group(1)) * (7 if relative.group(2) == "w" else 1)
        return today + timedelta(days=amount)
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
