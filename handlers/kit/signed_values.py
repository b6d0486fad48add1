"""What signed button values and modal metadata carry: one model each.

They travel signed (bot/slack/signing.py) under one-letter keys, because a button value holds at most
2000 characters and a block's id 255, and because values already in Slack messages must keep
loading: the keys below are the ones those values carry. A value without `v` is version 1.

- TicketButton (card buttons, Show card, Share): `a` the account's name, `t` the ticket id.
- ViewMeta (a modal's private_metadata): `a` the account, `c` the channel it was opened from,
  `u` the Slack user who opened it; the edit form adds `t` the ticket and `i` a digest of its
  inputs (a submission with other inputs is refused); the message shortcut's picker adds `r`,
  the tickets it found (URLs or ids); the create form from a message adds `m`, the message's
  thread, and `o`, its author.
- CreateForm: `x` a `/ticket create` line that lacked required fields, `c` its channel, `u` who
  typed it.
- ListPage: `l` a kept `/ticket list` answer's token, `p` the page to show.
- RetryToken `j`, UndoToken `u`, PreviewToken `p`: the token of a one-time payload
  (handlers/tokens.py); each kind has its own key, so one kind's token is never taken for
  another's.
"""

from __future__ import annotations

from typing import ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.slack.signing import Signer


class SignedValue(BaseModel):
    model_config = ConfigDict(populate_by_name=True, extra="ignore", frozen=True)

    v: int = 1

    def sign(self, signer: Signer) -> str:
        return signer.sign(self.model_dump(by_alias=True, exclude_none=True, exclude_defaults=True))

    @classmethod
    def verify(cls, signer: Signer, value: str | None) -> Self | None:
        """The value, or None when it is forged, altered, or not of this kind."""
        data = signer.verify(value)
        if data is None:
            return None
        try:
            return cls.model_validate(data)
        except ValidationError:
            return None


class TicketButton(SignedValue):
    account: str = Field(alias="a", min_length=1)
    ticket: str = Field(alias="t", min_length=1)


class ViewMeta(SignedValue):
    account: str = Field(alias="a", min_length=1)
    channel: str | None = Field(None, alias="c")
    user: str | None = Field(None, alias="u")
    ticket: str | None = Field(None, alias="t")
    inputs: str | None = Field(None, alias="i")
    refs: list[str] = Field(default_factory=list, alias="r")
    thread: str | None = Field(None, alias="m")  # the create form from a message: its thread's ts
    author: str | None = Field(None, alias="o")  # …and who wrote the message


class CreateForm(SignedValue):
    """ "Open the form" under a create that lacked required fields: `x` the line as typed, `c`
    the channel, `u` who typed it (only they may open it)."""

    text: str = Field(alias="x")
    channel: str | None = Field(None, alias="c")
    user: str = Field(alias="u", min_length=1)


class ListPage(SignedValue):
    """A `/ticket list` answer's page turn: `l` the kept list's token, `p` the page (from 0)."""

    token: str = Field(alias="l", min_length=1)
    page: int = Field(alias="p", ge=0)


class OneTimeToken(SignedValue):
    kind: ClassVar[str]  # the store's name: retry, undo, preview
    token: str = Field(min_length=1)


class RetryToken(OneTimeToken):
    kind = "retry"
    token: str = Field(alias="j", min_length=1)


class UndoToken(OneTimeToken):
    kind = "undo"
    token: str = Field(alias="u", min_length=1)


class PreviewToken(OneTimeToken):
    kind = "preview"
    token: str = Field(alias="p", min_length=1)
