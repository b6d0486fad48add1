"""What the bot answers instead of doing what was asked: one tree, so each surface catches one type.

```
UserInputError                 a problem with what was asked; str() is the answer to show
├── ParseError (ValueError)    the text is not a command: where, what, what would be accepted
├── RefError (ValueError)      the text names no ticket
├── DateError (ValueError)     not a date in any accepted form
├── ResolveError (ValueError)  a name matched nothing, or too much
├── FieldError                 one field's value is refused ("Priority: …")
├── NoAccount                  the channel is connected to no ticketing account
├── Refused                    not permitted by the configuration, or not by the tool
│   └── NotPermitted           read-only channel, user not allowed, locked field
└── Notice                     an answer that is no problem (said without a warning sign)
    └── NothingToChange        the ticket already reads what the update sets
```

The four `ValueError` kinds keep that base: parsers of dates, refs and values raise them where a
caller (pydantic validators among them) expects a `ValueError`. Failures of the unified API are
another tree (bot/truto/errors.py): they are not the user's mistake.
"""

from __future__ import annotations

from collections.abc import Sequence


class UserInputError(Exception):
    """A problem with what the user asked; `str()` is the answer to show them."""


class ParseError(UserInputError, ValueError):
    """The text is not a command; says where, what, and what would be accepted."""

    def __init__(self, message: str, position: int, token: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.token = token
        self.hint = hint

    def __str__(self) -> str:
        if not self.hint:
            return self.message
        joiner = " " if self.message.endswith(("?", ".")) else ". "
        return f"{self.message}{joiner}{self.hint[:1].upper()}{self.hint[1:]}"

    def pointer(self, text: str) -> str:
        """The text with a caret under the offending token, for terminals."""
        return f"{text}\n{' ' * self.position}^"


class RefError(UserInputError, ValueError):
    """The text names no ticket."""


class DateError(UserInputError, ValueError):
    """The text is not a date in any accepted form."""


class ResolveError(UserInputError, ValueError):
    """A name matched nothing, or too much; the message says what would be accepted."""

    def __init__(self, message: str, candidates: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.message = message
        self.candidates = list(candidates)


class NoAccount(UserInputError):
    """The channel is connected to no ticketing account."""


class Refused(UserInputError):
    """Not permitted by the configuration (read-only channel, not allowed, locked field), or
    something the tool cannot do."""


class NotPermitted(Refused):
    """Refused by the configuration; `str()` says why."""


class Notice(UserInputError):
    """An answer that is no problem (said without a warning sign)."""


class NothingToChange(Notice):
    """The ticket already reads what the update sets: nothing is sent, and that is no error."""


class FieldError(UserInputError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


class UnknownSlackUser(ResolveError):
    """Slack does not know the user a value names (users.info: user_not_found)."""
