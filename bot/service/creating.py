"""Creating a ticket: who may, what the tool requires (its create meta, never the update's),
names resolved as an update's are, the body checked; then one POST under its Idempotency-Key,
the snapshot, the audit record. Deleting one (a create's Undo) where the tool can."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.domain.accounts import Account
from bot.domain.actors import Actor
from bot.domain.commands import Assignment
from bot.domain.custom_fields import field_options, label_of, ticket_fields
from bot.domain.errors import NotPermitted, Refused, UserInputError
from bot.domain.fields import FIELDS, field_list
from bot.domain.models import Ref, Ticket, encode_query
from bot.ops.metrics import CREATES
from bot.service.audit import AuditRecord, AuditTrail
from bot.service.planner import Planner, check_account_state, shaped_body
from bot.truto.client import TrutoClient
from bot.truto.discovery import Abilities

ACCEPTED_SHOWN = 8  # values named per missing field; the form lists them all


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


@dataclass(frozen=True)
class Missing:
    """A field a new ticket needs that was not given: the body field (`custom_fields` for a
    custom one, then `custom` its name), how people call it, and values it takes."""

    field: str
    label: str
    accepted: tuple[str, ...] = ()
    custom: str | None = None

    @property
    def typed(self) -> str:
        """How it is typed after /ticket create (project=, type=, cf.severity=)."""
        if self.custom is not None:
            return f"cf.{self.custom}"
        return {
            "collections": "project",
            "ticket_type": "type",
            "assignees": "assignee",
            "name": "title",
        }.get(self.field, self.field.removesuffix("_date"))


class MissingFields(UserInputError):
    """Required fields of a new ticket were not given; nothing was sent."""

    def __init__(self, tool: str, missing: Sequence[Missing]) -> None:
        self.missing = tuple(missing)
        names = field_list([m.label for m in self.missing])
        lines = []
        for m in self.missing:
            shown = ", ".join(m.accepted[:ACCEPTED_SHOWN])
            more = (
                f" (and {len(m.accepted) - ACCEPTED_SHOWN} more)" if len(m.accepted) > ACCEPTED_SHOWN else ""
            )
            lines.append(f"{m.label}: {shown}{more}" if shown else m.label)
        example = " ".join(f"{m.typed}={_word(m.accepted[0]) if m.accepted else '…'}" for m in self.missing)
        said = f"{tool} needs {names} to create a ticket. {'; '.join(lines)}. Add {example}"
        self.in_a_step = f"{said} to the step's Fields"  # a workflow has no form to open
        super().__init__(f"{said}, or use the form")


def _word(value: str) -> str:
    return f'"{value}"' if any(c in value for c in ' ,="') else value


@dataclass(frozen=True)
class PlannedCreate:
    account: Account
    body: dict[str, Any]  # the POST body, as JSON
    query: tuple[tuple[str, str], ...]


# A required query parameter of a create taken from the new ticket's own body (its project,
# workspace, team), as an update takes it from the ticket.
_QUERY_FROM_BODY = {"collection_id": "collections", "workspace_id": "workspace", "team_id": "team"}


def _ref_id(value: Any) -> str | None:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, Ref):
        return value.id
    if isinstance(value, dict):
        return str(value["id"]) if value.get("id") else None
    if isinstance(value, str):
        return value or None
    return None


class Creator:
    def __init__(self, planner: Planner, client: TrutoClient, audit: AuditTrail | None = None) -> None:
        self.planner = planner
        self.client = client
        self.audit = audit

    async def check_may_create(
        self,
        account: Account,
        actor: Actor,
        channel: str | None,
        fields: Sequence[str] = (),
        *,
        ask_the_tool: bool = True,
    ) -> None:
        """Whoever may update may create (the same rules: who, where, locked fields, guests), where
        the account lets tickets be created from Slack and (unless `ask_the_tool` is off) the tool
        creates tickets."""
        if not account.permissions.create:
            raise NotPermitted(
                f"creating {account.display_tool} tickets from Slack is turned off "
                f"(“Who may create tickets” in the Home tab's settings, or permissions.create of the "
                f"{account.name} account)"
            )
        await self.planner.check_may_update(account, actor, channel, fields, ask_the_tool=False)
        if not ask_the_tool:
            return
        # The account's state and what it creates, from its capabilities and create meta (the
        # update meta is never read for a create).
        abilities = await self.schema(account)
        check_account_state(account, abilities)
        if not abilities.can_create:
            raise Refused(
                f"the {account.display_tool} account can't create tickets (its integration has no "
                "ticket create); create it in the tool, then /ticket update works here"
            )

    async def schema(self, account: Account) -> Abilities:
        discovery = self.planner.discovery
        return await discovery.create_abilities(account) if discovery is not None else Abilities()

    async def plan(
        self,
        account: Account,
        actor: Actor,
        channel: str | None,
        *,
        title: str = "",
        assignments: Sequence[Assignment] = (),
        values: dict[str, Any] | None = None,
    ) -> PlannedCreate:
        """Resolve and check a new ticket; nothing is sent. `assignments` as typed (resolved
        here), `values` already resolved (a form). MissingFields names each required field not
        given, with values it takes."""
        given = [a.field for a in assignments] + list(values or {})
        await self.check_may_create(account, actor, channel, [f for f in given if f != "name"])
        schema = await self.schema(account)
        resolved = await asyncio.gather(
            *(self.planner.resolver.value(account, a, actor) for a in assignments)
        )
        body: dict[str, Any] = {}
        for assignment, value in zip(assignments, resolved, strict=True):
            if assignment.custom_key is not None:
                name, typed = value
                body.setdefault("custom_fields", {})[name] = typed
            else:
                body[assignment.field] = value
        for name, value in (values or {}).items():
            if name == "custom_fields" and isinstance(value, dict):
                body.setdefault("custom_fields", {}).update(value)
            else:
                body[name] = value
        if title:
            body["name"] = title
        body = {k: v for k, v in body.items() if not _empty(v)}
        if "custom_fields" in body:
            body["custom_fields"] = {k: v for k, v in body["custom_fields"].items() if not _empty(v)}
        missing = await self.missing(account, body, schema)
        if missing:
            raise MissingFields(account.display_tool, missing)
        if body.get("parent_ticket") is not None and body.get("collections"):
            raise UserInputError(
                "set either parent or project (collections) on a new ticket, not both "
                "(the unified API takes one or the other)"
            )
        if schema.body_fields is not None:
            refused = [n for n in body if n not in schema.body_fields]
            if refused:
                raise Refused(f"{field_list(refused)} can't be set on a new {account.display_tool} ticket")
        checked = shaped_body(account, schema, body).to_body()
        return PlannedCreate(account, checked, tuple(self._query(account, schema, checked)))

    async def missing(
        self, account: Account, body: dict[str, Any], schema: Abilities | None = None
    ) -> list[Missing]:
        """Required body fields (the create meta's, and those its query needs from the body) and
        required custom fields (the definitions' `is_required`) not given in `body`."""
        schema = schema or await self.schema(account)
        lookups = self.planner.lookups
        wanted = [*schema.required_body]
        configured = account.query.for_operation("create")
        wanted += [
            _QUERY_FROM_BODY[q]
            for q in schema.required_query
            if q in _QUERY_FROM_BODY and q not in configured
        ]
        missing: list[Missing] = []
        for name in dict.fromkeys(wanted):
            if name == "name" or not _empty(body.get(name)):
                continue
            spec = FIELDS.get(name)
            accepted: tuple[str, ...] = ()
            if spec is not None and spec.resource is not None and spec.resource != "users":
                accepted = tuple((await lookups.get(account, spec.resource)).names)
            elif name in schema.enums:
                accepted = schema.enums[name]
            label = "project" if name == "collections" else (spec.label if spec is not None else name)
            missing.append(Missing(name, label[:1].upper() + label[1:], accepted))
        custom = body.get("custom_fields") or {}
        # A required custom field is asked for only where a new ticket takes custom fields at all.
        takes_custom = schema.body_fields is None or "custom_fields" in schema.body_fields
        definitions = await lookups.get(account, "fields") if takes_custom else None
        for field in ticket_fields(definitions.items) if definitions is not None else []:
            name = str(field.get("name") or "")
            if field.get("is_required") and not field.get("is_hidden") and _empty(custom.get(name)):
                options = tuple(str(o["name"]) for o in field_options(field))
                missing.append(Missing("custom_fields", label_of(field), options, custom=name))
        if "name" not in body:
            missing.insert(0, Missing("name", "Title"))
        return missing

    @staticmethod
    def _query(account: Account, schema: Abilities, body: dict[str, Any]) -> list[tuple[str, str]]:
        """Required query parameters the account's configuration does not set, from the body."""
        configured = account.query.for_operation("create")
        params: dict[str, Any] = {}
        for name in schema.required_query:
            if name in configured:
                continue
            source = _QUERY_FROM_BODY.get(name, name.removesuffix("_id"))
            found = _ref_id(body.get(source))
            if found is None:
                raise UserInputError(
                    f"the {account.display_tool} account needs {name} to create tickets and nothing "
                    f"given names it; an admin can set it as accounts.{account.name}.query.create.{name} "
                    "in the ticketbot config"
                )
            params[name] = found
        return encode_query(params)

    async def create(
        self, plan: PlannedCreate, actor: Actor, channel: str | None, *, idempotency_key: str
    ) -> Ticket:
        """POST once (its key on every try: a retried create makes one ticket); audited."""
        try:
            ticket = await self.client.create_ticket(
                plan.account, plan.body, list(plan.query), idempotency_key=idempotency_key
            )
        except Exception:
            CREATES.labels("failed").inc()
            raise
        CREATES.labels("created").inc()
        await self.planner.snapshots.put(plan.account, ticket, ticket.display_ref)
        change = {"field": "created", "before": "", "after": ticket.name or ""}
        await self._audit(plan.account, ticket, actor, channel, change, 201, idempotency_key)
        return ticket

    async def delete(self, account: Account, ticket: Ticket, actor: Actor, channel: str | None) -> None:
        """A create undone: the ticket deleted where the tool can; audited."""
        await self.client.delete_ticket(account, ticket.id)
        CREATES.labels("deleted").inc()
        change = {"field": "deleted", "before": ticket.name or "", "after": ""}
        await self._audit(account, ticket, actor, channel, change, 200, "")

    async def _audit(
        self,
        account: Account,
        ticket: Ticket,
        actor: Actor,
        channel: str | None,
        change: dict[str, str],
        status: int,
        key: str,
    ) -> None:
        if self.audit is None:
            return
        await self.audit.record(
            AuditRecord.now(
                user_id=actor.slack_user_id,
                user_name=actor.described,
                channel=channel,
                account=account.name,
                ticket=ticket.display_ref,
                changes=[change],
                status=status,
                idempotency_key=key,
                via="personal" if account.acting_as else "shared",
            )
        )
