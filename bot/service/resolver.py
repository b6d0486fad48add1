"""Names → what the API takes: users (mentions, me, emails, names), lookup values, custom
field values, parent tickets. Only the lookups, the Slack directory and a way to read a
ticket are needed; errors say what would be accepted."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from datetime import date
from typing import Any

from bot.domain.accounts import Account
from bot.domain.actors import Actor, SlackDirectory
from bot.domain.commands import Assignment, UserValue
from bot.domain.custom_fields import convert, field_options, find_field, label_of, ticket_fields
from bot.domain.errors import FieldError, ResolveError, UserInputError
from bot.domain.fields import FIELDS, Kind
from bot.domain.matching import Item, item_name
from bot.domain.models import Ref, Ticket
from bot.domain.refs import TicketRef
from bot.service.lookups import RESOURCE_LABELS, Lookups
from bot.truto.errors import NotFound

Target = tuple[str, str | None]  # (body field, custom field key)
FindTicket = Callable[[Account, TicketRef], Awaitable[Ticket]]

# Fields sent as a plain string when the account has no list to resolve them against.
_STRING_WHEN_NO_LIST = frozenset({"status", "ticket_type"})


class Resolver:
    def __init__(
        self, lookups: Lookups, find_ticket: FindTicket, directory: SlackDirectory | None = None
    ) -> None:
        self.lookups = lookups
        self.find_ticket = find_ticket  # a recent read is enough (a parent's id)
        self.directory = directory

    async def user_ref(self, account: Account, actor: Actor) -> Ref:
        """The ticketing user who is this Slack user (by the email of the Slack profile)."""
        try:
            return await self.user(account, UserValue("me", "me"), actor)
        except ResolveError as exc:
            raise UserInputError(exc.message) from None

    # -- resolution ------------------------------------------------------------------

    async def value(self, account: Account, assignment: Assignment, actor: Actor) -> Any:
        """The body value of one assignment (for += / -=: the refs to add or remove)."""
        if assignment.custom_key is not None:
            return await self._custom(account, assignment, actor)
        spec = FIELDS[assignment.field]
        if assignment.op == "clear":
            return [] if spec.is_list else None  # the same on every surface: a list is emptied
        values = assignment.values
        try:
            if spec.kind in (Kind.TEXT, Kind.CUSTOM, Kind.DATE):
                return values[0]
            if spec.kind == Kind.STRUCTURED:
                return json.loads(str(values[0]))
            if spec.kind == Kind.REF_ID:
                return Ref(id=str(values[0]))
            if spec.kind == Kind.TICKET:
                ref = values[0]
                assert isinstance(ref, TicketRef)
                return await self.parent(account, ref)
            if spec.kind == Kind.STRING_LIST:
                return [str(v) for v in values]
            if spec.kind in (Kind.USERS, Kind.USER):
                users = [await self.user(account, v, actor) for v in values if isinstance(v, UserValue)]
                if spec.kind == Kind.USER:
                    return users[0]
                return users
            return await self._lookup(account, assignment)
        except ResolveError as exc:
            raise FieldError(assignment.key_text, exc.message) from None

    async def _custom(self, account: Account, assignment: Assignment, actor: Actor) -> tuple[str, Any]:
        """(the field's own name, the typed value) for cf.<key>=…"""
        key = assignment.custom_key or ""
        fields = await self.lookups.get(account, "fields")
        texts = tuple(f"@{v.text}" if isinstance(v, UserValue) else str(v) for v in assignment.values)
        if not fields.present:  # the tool lists no definitions: send what was typed
            return key, None if assignment.op == "clear" else ",".join(texts)
        try:
            field = find_field(key, ticket_fields(fields.items))
            name = str(field.get("name") or key)
            if assignment.op == "clear":
                return name, None
            if field.get("type") == "user":
                first = assignment.values[0]
                who = first if isinstance(first, UserValue) else _user_value(texts[0])
                return name, (await self.user(account, who, actor)).id
            if field.get("type") != "array" and assignment.op in ("add", "remove"):
                raise ResolveError(f"+= and -= work on multi-select fields; {name} holds one value")
            return name, convert(field, texts, date.today())
        except ResolveError as exc:
            raise FieldError(assignment.key_text, exc.message) from None

    async def _lookup(self, account: Account, assignment: Assignment) -> Any:
        spec = FIELDS[assignment.field]
        assert spec.resource is not None
        lookup = await self.lookups.get(account, spec.resource)
        label = RESOURCE_LABELS[spec.resource]
        if not lookup.present:
            if assignment.field in _STRING_WHEN_NO_LIST:
                return str(assignment.values[0])
            tool = account.display_tool
            raise FieldError(assignment.key_text, f"the {tool} account has no {label[1]} to choose from")
        if assignment.op == "remove":
            return list(assignment.values)  # matched against the ticket's own list in _merge
        refs = [_ref(lookup.index.resolve(str(v), label)) for v in assignment.values]
        return refs if spec.kind == Kind.LOOKUP_LIST else refs[0]

    async def parent(self, account: Account, ref: TicketRef) -> Ref:
        """The parent's unified id: a key as typed (PROJ-7) is looked up (the tool takes keys
        where the ticket URL does), and its `id` is what the body carries."""
        try:
            parent = await self.find_ticket(account, ref)
        except NotFound:
            raise ResolveError(f"no ticket {ref.id} in {account.display_tool}") from None
        return Ref(id=parent.id)

    async def user(self, account: Account, value: UserValue, actor: Actor) -> Ref:
        if value.kind == "name":
            try:
                return _ref(await self.lookups.resolve(account, "users", value.text))
            except ResolveError as exc:
                if not value.at_typed:
                    raise
                # "@ana" typed by hand reaches the bot as text, not as a mention.
                hint = (
                    f"pick @{value.text} from Slack's autocomplete so it becomes a mention, or use an email"
                )
                said = re.sub(r";? use an email.*$", "", exc.message)
                raise ResolveError(f"{said}; {hint}", exc.candidates) from None
        if value.kind == "email":
            return _ref(await self.lookups.user_by_email(account, value.text))
        slack_id = value.slack_id if value.kind == "slack" else actor.slack_user_id
        # A mention without a label (`<@U0ABC>`) is named by a mention, which Slack shows as the
        # person's name, rather than by its raw id.
        named = f"<@{slack_id}>" if value.text == slack_id else f"@{value.text}"
        who = named if value.kind == "slack" else "you"
        email = actor.email if value.kind == "me" else None
        if email is None and slack_id and self.directory is not None:
            email = await self.directory.email_of(slack_id)
        if email is None:
            raise ResolveError(
                f"can't tell which ticketing user {who} is: no email on the Slack profile"
                if slack_id
                else "'me' needs a Slack user; use an email instead (or, on the command line, --as-email)"
            )
        try:
            return _ref(await self.lookups.user_by_email(account, email, who=who))
        except ResolveError:
            raise ResolveError(
                f"{who} ({email}) has no user in the {account.display_tool} account with that email"
            ) from None

    async def custom_labels(self, account: Account, targets: Sequence[Target]) -> dict[str, str]:
        """The labels of the custom fields an update sets ("Story points" for cf.story_points)."""
        keys = [key for _, key in targets if key is not None]
        if not keys:
            return {}
        fields = await self.lookups.get(account, "fields")
        defined = ticket_fields(fields.items) if fields.present else []
        named = {str(f.get("name")): label_of(f) for f in defined}
        return {f"cf.{key}": named[key] for key in keys if key in named}

    async def custom_options(
        self, account: Account, targets: Sequence[Target], values: Sequence[Any] = ()
    ) -> dict[str, dict[str, str]]:
        """How the custom fields an update sets show their values: an option by its label
        ("Severity — → Major"), a user by their name ("Reviewer — → Ana Lima"), never an id.
        `values`: the values the change shows (user fields are looked up for those alone)."""
        keys = [key for _, key in targets if key is not None]
        if not keys:
            return {}
        fields = await self.lookups.get(account, "fields")
        defined = {str(f.get("name")): f for f in (ticket_fields(fields.items) if fields.present else [])}
        shown: dict[str, dict[str, str]] = {}
        for key in keys:
            field = defined.get(key)
            if field is None:
                continue
            if field.get("type") == "user":
                shown[f"cf.{key}"] = await self._user_names(account, values)
            elif options := field_options(field):
                shown[f"cf.{key}"] = {o["id"]: o["name"] for o in options}
        return {key: names for key, names in shown.items() if names}

    async def _user_names(self, account: Account, values: Sequence[Any]) -> dict[str, str]:
        wanted = {str(v) for v in values if isinstance(v, str | int)}
        if not wanted:
            return {}
        users = await self.lookups.get(account, "users")
        return {user_id: item_name(user) for user_id, user in users.index.by_ids(wanted).items()}


def _ref(item: Item) -> Ref:
    """A lookup item as a body reference; a collection's or a creator's `type` (component,
    product, user, contact) is kept when the list has one."""
    kind = item.get("type")
    typed = {"type": kind} if isinstance(kind, str) and kind else {}
    return Ref(id=str(item["id"]), name=item_name(item), **typed)


def _user_value(text: str) -> UserValue:
    if text.lower() == "me":
        return UserValue("me", text)
    return UserValue("email" if "@" in text.strip("@") else "name", text.removeprefix("@"))
