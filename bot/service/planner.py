"""Planning an update: route to the account, check permissions and what the tool can do, resolve
names, merge `+=`/`-=` into the current lists, validate the body. Nothing is sent."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import date
from typing import Any

from pydantic import ValidationError

from bot.domain.accounts import PER_VERSION_PARAMS, Account
from bot.domain.actors import Actor, SlackDirectory
from bot.domain.commands import Assignment, Command, UpdateCommand
from bot.domain.custom_fields import merge
from bot.domain.errors import FieldError, NoAccount, RefError, Refused, ResolveError, UserInputError
from bot.domain.fields import FIELDS, Kind, field_list
from bot.domain.grammar import parse
from bot.domain.matching import compact, resolve
from bot.domain.models import Change, Ref, Ticket, TicketUpdate
from bot.domain.permissions import check_standing, check_subscribe, check_update
from bot.domain.refs import TOOL_NAMES, TicketRef, parse_ref, tool_of_url
from bot.ops.config import AppConfig
from bot.service.lookups import Lookups
from bot.service.resolver import Resolver, Target
from bot.service.snapshots import Snapshots
from bot.service.ticket_reads import TicketReads
from bot.service.updates import PlannedUpdate, changes_between
from bot.truto.client import TrutoClient
from bot.truto.discovery import Abilities, Discovery
from bot.truto.errors import AccountNotFound, TrutoError
from bot.truto.query import update_query

NEEDS_A_TITLE = "A ticket needs a title."


def _current_refs(ticket: Ticket, field: str) -> list[Ref]:
    current = getattr(ticket, field, None) or []
    return [ref for ref in (obj.as_ref() for obj in current) if ref is not None]


class Planner:
    """Turns a command (or resolved values) into a validated PATCH body for one ticket; sends nothing."""

    def __init__(
        self,
        config: AppConfig,
        client: TrutoClient,
        lookups: Lookups,
        snapshots: Snapshots,
        directory: SlackDirectory | None = None,
        discovery: Discovery | None = None,
    ) -> None:
        self.discovery = discovery
        self.config = config
        self.client = client
        self.lookups = lookups
        self.snapshots = snapshots
        self.directory = directory
        self.reads = TicketReads(client, snapshots)
        self.resolver = Resolver(lookups, self.reads.recent, directory)  # no cycle back to here

    # -- routing and parsing ---------------------------------------------------------

    def account_for(self, channel: str | None) -> Account:
        account = self.config.account_for_channel(channel)
        if account is None:
            if self.config.settings.distributed:  # each workspace connects its own, from Home
                raise NoAccount(
                    "this workspace has not connected its tracker yet; a workspace admin or owner can "
                    "connect it from ticketbot's Home tab (Connect your tracker)"
                )
            raise NoAccount(
                "this channel is not connected to a ticketing account; ask an admin to route it "
                "(channels: in the ticketbot config) or to set TRUTO_INTEGRATED_ACCOUNT_ID"
            )
        return account

    def account_for_ref(self, ref: TicketRef, channel: str | None) -> Account:
        """A ticket URL is routed by the account whose links it matches; a bare key by the channel."""
        account = self.config.account_for_url(ref.url) if ref.url else None
        if account is None and ref.url and (tool := tool_of_url(ref.url)) is not None:
            routed = self.account_for(channel)
            if not routed.display_tool.casefold().startswith(tool):  # another tool's link
                named = TOOL_NAMES[tool]
                raise NoAccount(
                    f"that is a {named} link, and no {named} account is connected here "
                    f"(this channel uses {routed.display_tool})"
                )
            return routed
        return account or self.account_for(channel)

    def parse(
        self, text: str, channel: str | None, today: date | None = None, *, account: Account | None = None
    ) -> Command:
        """Parse with the link patterns of the account (by default the channel's, when it has one)."""
        account = account or self.config.account_for_channel(channel)
        patterns = [p for a in self.config.accounts.values() for p in a.link_patterns]
        if account is not None:  # the channel's account's patterns first
            patterns = [*account.link_patterns, *patterns]
        return parse(
            text,
            today=today,
            link_patterns=tuple(dict.fromkeys(patterns)),
            max_tickets=self.config.settings.bulk_max_tickets,
            locked=self._not_settable(account),
        )

    def _not_settable(self, account: Account | None) -> tuple[str, ...]:
        """Fields not to suggest: locked in the config, or (by the last answer) refused by the tool."""
        if account is None:
            return ()
        locked = set(account.permissions.locked_fields)
        known = self.discovery.last.get(account.integrated_account_id) if self.discovery is not None else None
        if known is not None and known.body_fields is not None:
            locked |= {name for name in FIELDS if name not in known.body_fields}
        return tuple(sorted(locked))

    # -- tickets ---------------------------------------------------------------------

    async def fetch_ticket(self, account: Account, ref: TicketRef) -> Ticket:
        return await self.reads.fetch(account, ref)

    async def recent_ticket(self, account: Account, ref: TicketRef) -> Ticket:
        return await self.reads.recent(account, ref)

    # -- updates ---------------------------------------------------------------------

    async def _check_standing(self, account: Account, actor: Actor) -> None:
        if actor.slack_user_id and self.directory is not None and not account.permissions.guests:
            check_standing(account, await self.directory.standing(actor.slack_user_id))

    async def check_may_subscribe(self, account: Account, actor: Actor, channel: str | None) -> None:
        await check_subscribe(account, actor.slack_user_id, channel, self.directory)
        await self._check_standing(account, actor)

    async def check_may_update(
        self,
        account: Account,
        actor: Actor,
        channel: str | None,
        fields: Sequence[str] = (),
        *,
        ask_the_tool: bool = True,
    ) -> None:
        """Refuse (Refused, a UserInputError) what the account's permissions do not allow, and
        (unless `ask_the_tool` is off: before views.open no API call may be made) what the tool
        cannot do."""
        read_only = {c for a in self.config.accounts.values() for c in a.permissions.read_only_channels}
        await check_update(
            account,
            actor.slack_user_id,
            channel,
            fields,
            self.directory,
            read_only_elsewhere=read_only,
            as_workflow=actor.as_workflow,
        )
        await self._check_standing(account, actor)
        if not ask_the_tool:
            return
        abilities = await self.abilities(account)
        tool = account.display_tool
        check_account_state(account, abilities)
        if not abilities.can_update:
            raise Refused(
                f"the {tool} account can't update tickets (its integration has no ticket update); "
                "/ticket show and link previews still work"
            )
        if abilities.body_fields is not None:
            refused = [name for name in dict.fromkeys(fields) if name not in abilities.body_fields]
            if refused:
                raise Refused(f"{field_list(refused)} can't be changed in {tool}")

    async def abilities(self, account: Account) -> Abilities:
        return await self.discovery.abilities(account) if self.discovery is not None else Abilities()

    async def plan(
        self, command: UpdateCommand, actor: Actor, channel: str | None, *, account: Account | None = None
    ) -> PlannedUpdate:
        """Resolve and validate everything; no write. Raises UserInputError on bad input. The
        account is the channel's unless given (a job names the one it was acknowledged for)."""
        account = account or self.account_for(channel)
        await self.check_may_update(account, actor, channel, [a.field for a in command.assignments])
        merges = any(a.op in ("add", "remove") for a in command.assignments)
        # += and -= merge into the current list: that must be fresh, or someone's change is lost.
        load = self.fetch_ticket if merges else self.recent_ticket
        ticket, *values = await asyncio.gather(
            load(account, command.ref),
            *(self.resolver.value(account, a, actor) for a in command.assignments),
        )
        body: dict[str, Any] = {}
        targets: list[Target] = []
        for assignment, value in zip(command.assignments, values, strict=True):
            if assignment.custom_key is not None:
                name, typed = value
                if assignment.op in ("add", "remove"):
                    try:
                        typed = merge(
                            (ticket.custom_fields or {}).get(name), typed, assignment.op, assignment.key_text
                        )
                    except ResolveError as exc:
                        raise FieldError(assignment.key_text, exc.message) from None
                body.setdefault("custom_fields", {})[name] = typed
                targets.append(("custom_fields", name))
                continue
            if assignment.op in ("add", "remove"):
                body[assignment.field] = self._merge(ticket, command.ref, assignment, value)
            else:
                body[assignment.field] = value
            targets.append((assignment.field, None))
        return await self._planned(account, command.ref, body, ticket, tuple(targets))

    async def plan_many(
        self, command: UpdateCommand, actor: Actor, channel: str | None, *, at_once: int = 5
    ) -> list[PlannedUpdate]:
        """A bulk update planned ticket by ticket (nothing sent): each ticket on its account (a
        URL's by its links, a key the channel's), permissions checked per account first. Any
        refusal refuses them all: a UserInputError naming each ticket's problem (or the one
        mistake they share)."""
        routed = [(ref, self.account_for_ref(ref, channel)) for ref in command.refs]
        fields = [a.field for a in command.assignments]
        for account in {a.name: a for _, a in routed}.values():
            await self.check_may_update(account, actor, channel, fields)
        limit = asyncio.Semaphore(at_once)

        async def plan(ref: TicketRef, account: Account) -> PlannedUpdate:
            async with limit:
                return await self.plan(command.for_ticket(ref), actor, channel, account=account)

        results = await asyncio.gather(*(plan(r, a) for r, a in routed), return_exceptions=True)
        problems: list[tuple[str, str]] = []
        for (ref, _), result in zip(routed, results, strict=True):
            if isinstance(result, UserInputError):
                problems.append((ref.id, str(result)))
            elif isinstance(result, TrutoError):
                problems.append((ref.id, result.user_message))
            elif isinstance(result, BaseException):
                raise result
        if problems:
            messages = list(dict.fromkeys(message for _, message in problems))
            if len(messages) == 1 and len(problems) > 1:
                raise UserInputError(f"Nothing was sent: {messages[0]}")
            lines = [f"• {ref}: {message.rstrip('.')}." for ref, message in problems[:5]]
            if len(problems) > 5:
                lines.append(f"…and {len(problems) - 5} more.")
            raise UserInputError("Nothing was sent:\n" + "\n".join(lines))  # one line per ticket
        return [r for r in results if isinstance(r, PlannedUpdate)]

    async def plan_fields(
        self, account: Account, ref: TicketRef, body: dict[str, Any], actor: Actor, channel: str | None
    ) -> PlannedUpdate:
        """Plan an update whose values are already resolved (a form, a card button)."""
        await self.check_may_update(account, actor, channel, list(body))
        parent = body.get("parent_ticket")
        if isinstance(parent, str):  # a key or URL typed in the form
            try:
                body = {
                    **body,
                    "parent_ticket": await self.resolver.parent(
                        account, parse_ref(parent, account.link_patterns)
                    ),
                }
            except (RefError, ResolveError) as exc:
                raise FieldError(FIELDS["parent_ticket"].label, str(exc)) from None
        before = await self.recent_ticket(account, ref)
        targets: list[Target] = [(name, None) for name in body if name != "custom_fields"]
        targets += [("custom_fields", key) for key in body.get("custom_fields") or {}]
        return await self._planned(account, ref, body, before, tuple(targets))

    async def _planned(
        self,
        account: Account,
        ref: TicketRef,
        body: dict[str, Any],
        before: Ticket,
        targets: tuple[Target, ...],
    ) -> PlannedUpdate:
        abilities = await self.abilities(account)
        for name, value in body.items():
            if name == "status" and value in (None, "", []):
                raise FieldError(
                    FIELDS["status"].label,
                    "a ticket always has a status, so it can't be cleared; set another one instead",
                )
            if value in (None, "", []) and (name == "name" or name in abilities.required_body):
                # The same words on every surface (the form says it on its Title input).
                if name == "name":
                    raise UserInputError(NEEDS_A_TITLE)
                raise FieldError(
                    FIELDS[name].label, f"{account.display_tool} requires it; it can't be emptied"
                )
        parent = body.get("parent_ticket")
        parent_id = (
            parent.id if isinstance(parent, Ref) else parent.get("id") if isinstance(parent, dict) else None
        )
        if parent_id is not None and parent_id in {before.id, ref.id, before.number}:
            raise FieldError(FIELDS["parent_ticket"].label, f"{before.display_ref} can't be its own parent")
        if body.get("parent_ticket") is not None and body.get("collections"):
            raise UserInputError(
                "set either parent or collections in one update, not both "
                "(the unified API takes one or the other)"
            )
        # Never the meta's default_body: it says what the API does by itself, and re-sending it
        # would overwrite fields the user did not touch. The body is the user's changes alone.
        update = shaped_body(account, abilities, body)
        if any(name in PER_VERSION_PARAMS for name in abilities.required_query):
            before = await self.fetch_ticket(account, ref)  # a per-version value must be current
        query = update_query(account, abilities, before)
        labels = await self.resolver.custom_labels(account, targets)
        shown = [*((before.custom_fields or {}).values()), *((body.get("custom_fields") or {}).values())]
        options = await self.resolver.custom_options(account, targets, shown)
        return PlannedUpdate(
            account, before.id or ref.id, update, query, before, targets, ref.id, labels, options
        )

    def preview(self, plan: PlannedUpdate) -> list[Change]:
        """Before → after of a planned update, as it would read once applied."""
        planned = plan.update.to_body()
        custom = {**(plan.before.custom_fields or {}), **(planned.pop("custom_fields", None) or {})}
        after = Ticket.model_validate({**plan.before.to_json(), **planned, "custom_fields": custom})
        return changes_between(plan.targets, plan.before, after, plan.labels, plan.options)

    def _merge(self, ticket: Ticket, ref: TicketRef, assignment: Assignment, value: Any) -> list[Any]:
        """The whole new list for += / -=, from the ticket's current one."""
        field = assignment.field
        if FIELDS[field].kind == Kind.STRING_LIST:
            current_strings = [str(v) for v in (ticket.model_extra or {}).get(field) or []]
            if assignment.op == "add":
                return current_strings + [v for v in value if v not in current_strings]
            missing = [v for v in value if v not in current_strings]
            if missing:
                raise FieldError(assignment.key_text, f"{ref.id} has no {', '.join(missing)}")
            return [v for v in current_strings if v not in value]
        current = _current_refs(ticket, field)
        if assignment.op == "add":
            known = {r.id for r in current}
            return current + [r for r in value if r.id not in known]
        drop: set[str] = set()
        items = [r.model_dump(exclude_none=True) for r in current]
        for wanted in value:
            if isinstance(wanted, Ref):
                if wanted.id not in {r.id for r in current}:
                    raise FieldError(
                        assignment.key_text,
                        f"{wanted.name or wanted.id} is not on {ref.id} (now: {_names(current)})",
                    )
                drop.add(wanted.id)
                continue
            try:
                drop.add(str(resolve(str(wanted), items, what=(field, field))["id"]))
            except ResolveError:
                raise FieldError(
                    assignment.key_text, f"'{wanted}' is not on {ref.id} (now: {_names(current)})"
                ) from None
        return [r for r in current if r.id not in drop]


def shaped_body(account: Account, abilities: Abilities, body: dict[str, Any]) -> TicketUpdate:
    """The body as the tool's schema takes it (status and type as its own words where it takes
    words, `workspace` and `items` in its shapes), checked; FieldError naming the first problem."""
    for name in ("status", "ticket_type"):
        value = body.get(name)
        if name in abilities.string_fields and value is not None:
            # This tool takes a word from its own set (the schema's enum), not a reference.
            typed = value if isinstance(value, str) else value.name if isinstance(value, Ref) else None
            if typed is None and isinstance(value, dict):
                typed = value.get("name")
            body[name] = enum_value(name, str(typed or ""), abilities.enums.get(name))
    seed_shapes(account, abilities, body)
    try:
        return TicketUpdate(**body)
    except ValidationError as exc:
        problem = exc.errors()[0]
        raise FieldError(".".join(str(p) for p in problem["loc"]), problem["msg"]) from None


def check_account_state(account: Account, abilities: Abilities) -> None:
    """Refuse (Refused) what an account unknown to the API, blocked or not connected cannot do."""
    tool = account.display_tool
    if abilities.missing:
        raise Refused(AccountNotFound(account.integrated_account_id).user_message)
    if abilities.blocked:
        raise Refused(
            f"the unified API has blocked the {tool} account (its connection needs attention); "
            "ask an admin to reconnect it"
        )
    if abilities.status and abilities.status != "active":
        raise Refused(
            f"{tool} is not connected in the unified API right now (its status is "
            f"{abilities.status}); ask an admin to reconnect it"
        )


def enum_value(name: str, typed: str, accepted: tuple[str, ...] | None) -> str:
    """The tool's own word for what the user typed, from the schema's enum when it has one."""
    if not accepted:
        return typed
    wanted = compact(typed)
    for value in accepted:
        if compact(value) == wanted:
            return value
    raise UserInputError(f"{name} {typed!r} is not one this tool takes; use one of: {', '.join(accepted)}")


def _names(refs: Sequence[Ref]) -> str:
    return ", ".join(r.name or r.id for r in refs) or "none"


def seed_shapes(account: Account, abilities: Abilities, body: dict[str, Any]) -> None:
    """Send `workspace` and `items` in the shape the account's schema gives them, else in the
    seed page's (its PATCH example: `"workspace": "your_workspace"`, `"items": {}`)."""
    workspace = body.get("workspace")
    if isinstance(workspace, Ref) and "workspace" not in abilities.object_fields:
        body["workspace"] = workspace.id
    items = body.get("items")
    if items is not None:
        wanted = "array" if "items" in abilities.array_fields else "object"
        if not isinstance(items, list if wanted == "array" else dict):
            example = '[{"…": …}]' if wanted == "array" else '{"…": …}'
            raise FieldError(
                "items", f"{account.display_tool} takes items as a JSON {wanted}, like items='{example}'"
            )
