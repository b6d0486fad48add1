"""What the bot answers instead of doing what was asked: each is said to the user as it is."""

from __future__ import annotations


class UserInputError(Exception):
    """A problem with what the user asked; `str()` is the answer to show them."""


class NoAccount(UserInputError):
    pass


class Refused(UserInputError):
    """Not permitted by the configuration (read-only channel, not allowed, locked field)."""


class Notice(UserInputError):
    """An answer that is no problem (said without a warning sign)."""


class NothingToChange(Notice):
    """The ticket already reads what the update sets: nothing is sent, and that is no error."""


class FieldError(UserInputError):
    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
