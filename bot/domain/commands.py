"""What a `/ticket` command is, once parsed: the types the grammar produces and the service,
the jobs and the surfaces use (most of them without ever parsing)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from bot.domain.refs import TicketRef
from bot.domain.subscriptions import SubscribeRequest
from bot.domain.ticket_search import ListRequest

Op = Literal["set", "add", "remove", "clear"]


@dataclass(frozen=True)
class UserValue:
    """A user as typed: a Slack mention, `me`, an email, or a name/username."""

    kind: Literal["slack", "me", "email", "name"]
    text: str
    slack_id: str | None = None
    at_typed: bool = False  # "@ana" typed by hand: not a mention (Slack's autocomplete makes those)


Value = str | UserValue | date | datetime | TicketRef


@dataclass(frozen=True)
class Assignment:
    field: str  # the body field name ("custom_fields" for cf.<key>)
    op: Op
    values: tuple[Value, ...] = ()
    custom_key: str | None = None
    position: int = 0
    key_text: str = ""


@dataclass(frozen=True)
class UpdateCommand:
    ref: TicketRef
    assignments: tuple[Assignment, ...]
    preview: bool = False  # `--preview`: show before → after first, apply on request
    more: tuple[TicketRef, ...] = ()  # a bulk update: the other tickets, in the order typed

    @property
    def refs(self) -> tuple[TicketRef, ...]:
        return (self.ref, *self.more)

    @property
    def bulk(self) -> bool:
        return bool(self.more)

    def for_ticket(self, ref: TicketRef) -> UpdateCommand:
        """The same changes on one ticket (a bulk update is one of these per ticket)."""
        return UpdateCommand(ref, self.assignments, self.preview)


@dataclass(frozen=True)
class ShowCommand:
    ref: TicketRef


@dataclass(frozen=True)
class EditCommand:
    ref: TicketRef


@dataclass(frozen=True)
class HelpCommand:
    """`/ticket help` (anything after `help` is ignored), or one command's help (`subscribe help`)."""

    topic: str | None = None


@dataclass(frozen=True)
class SubscribeCommand:
    """`/ticket subscribe <filter>`: the channel is told of matching changes (None: the form)."""

    request: SubscribeRequest | None


@dataclass(frozen=True)
class SubscriptionsCommand:
    """`/ticket subscriptions`: the channel's, numbered."""


@dataclass(frozen=True)
class UnsubscribeCommand:
    number: int  # as `/ticket subscriptions` numbers them


@dataclass(frozen=True)
class CommentCommand:
    """`/ticket comment PROJ-42 "Deployed the fix"`."""

    ref: TicketRef
    text: str


@dataclass(frozen=True)
class NotifyCommand:
    """`/ticket notify on|off`: DMs about one's own tickets."""

    on: bool


@dataclass(frozen=True)
class ConnectCommand:
    """`/ticket connect` (your own account of the channel's tool) or `/ticket disconnect`."""

    connect: bool


@dataclass(frozen=True)
class RemindCommand:
    """`/ticket remind due` (each morning, a DM of one's tickets due soon) or `/ticket remind off`."""

    on: bool


@dataclass(frozen=True)
class ListCommand:
    """`/ticket list <filter>` (or `find`): the tickets that match, a page at a time."""

    request: ListRequest


@dataclass(frozen=True)
class CreateCommand:
    """`/ticket create <title> [field=value …]`: a new ticket. `title` is empty for `/ticket
    create` alone (the form opens); assignments are the update grammar's, `=` only."""

    title: str
    assignments: tuple[Assignment, ...] = ()

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(a.field for a in self.assignments)


Command = (
    UpdateCommand
    | CreateCommand
    | ListCommand
    | RemindCommand
    | ShowCommand
    | EditCommand
    | HelpCommand
    | SubscribeCommand
    | SubscriptionsCommand
    | UnsubscribeCommand
    | NotifyCommand
    | CommentCommand
    | ConnectCommand
)
