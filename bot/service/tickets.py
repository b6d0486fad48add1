"""Use cases: apply an update (plan, then execute), show a ticket. Returns domain results; knows
nothing of Slack UI. Parse and resolution errors never reach the API.

apply(): pick the account (channel routing, else default) → resolve names → build and
validate a TicketUpdate (bot/service/planner.py) → PATCH once (bot/service/executor.py) → the
ticket from the PATCH answer, with the changes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from bot.domain.accounts import Account
from bot.domain.actors import Actor, SlackDirectory
from bot.domain.commands import UpdateCommand
from bot.domain.errors import NothingToChange
from bot.domain.models import Ticket
from bot.domain.refs import TicketRef
from bot.ops.config import AppConfig
from bot.service.audit import AuditTrail
from bot.service.creating import Creator
from bot.service.executor import Executor
from bot.service.lookups import Lookups
from bot.service.planner import Planner
from bot.service.resolver import Resolver
from bot.service.snapshots import Snapshots
from bot.service.updates import PlannedUpdate, UpdateResult, already
from bot.truto.client import TrutoClient
from bot.truto.discovery import Discovery

P = ParamSpec("P")
R = TypeVar("R")


class _Forwarded(Generic[P, R]):
    """A planner method read through the service: the planner's bound method."""

    def __init__(self, method: Callable[Concatenate[Planner, P], R]) -> None:
        self.name = method.__name__

    @overload
    def __get__(self, service: None, owner: type) -> _Forwarded[P, R]: ...

    @overload
    def __get__(self, service: TicketService, owner: type) -> Callable[P, R]: ...

    def __get__(self, service: TicketService | None, owner: type) -> _Forwarded[P, R] | Callable[P, R]:
        if service is None:
            return self
        method: Callable[P, R] = getattr(service.planner, self.name)
        return method


def _planner(method: Callable[Concatenate[Planner, P], R]) -> _Forwarded[P, R]:
    return _Forwarded(method)


class TicketService:
    """The use cases listeners and jobs call: a planner that turns commands into checked PATCH
    bodies (sending nothing), and an executor that applies a plan once. Composed, not
    inherited: the planner's operations are the service's own by name."""

    def __init__(
        self,
        config: AppConfig,
        client: TrutoClient,
        lookups: Lookups,
        snapshots: Snapshots,
        directory: SlackDirectory | None = None,
        audit: AuditTrail | None = None,
        discovery: Discovery | None = None,
    ) -> None:
        self.planner = Planner(config, client, lookups, snapshots, directory, discovery)
        self.executor = Executor(client, snapshots, audit)
        self.creator = Creator(self.planner, client, audit)

    # The planner's operations, as the service's own (forwarded per call: nothing per instance).
    parse = _planner(Planner.parse)
    preview = _planner(Planner.preview)
    abilities = _planner(Planner.abilities)
    account_for = _planner(Planner.account_for)
    account_for_ref = _planner(Planner.account_for_ref)
    fetch_ticket = _planner(Planner.fetch_ticket)
    recent_ticket = _planner(Planner.recent_ticket)
    check_may_update = _planner(Planner.check_may_update)
    check_may_subscribe = _planner(Planner.check_may_subscribe)
    plan = _planner(Planner.plan)
    plan_many = _planner(Planner.plan_many)
    plan_fields = _planner(Planner.plan_fields)

    @property
    def client(self) -> TrutoClient:
        return self.planner.client

    @property
    def lookups(self) -> Lookups:
        return self.planner.lookups

    @property
    def snapshots(self) -> Snapshots:
        return self.planner.snapshots

    @property
    def discovery(self) -> Discovery | None:
        return self.planner.discovery

    @property
    def resolver(self) -> Resolver:
        return self.planner.resolver

    @property
    def config(self) -> AppConfig:
        return self.planner.config

    @config.setter
    def config(self, config: AppConfig) -> None:
        self.planner.config = config

    @property
    def audit(self) -> AuditTrail | None:
        return self.executor.audit

    async def show(self, ref: TicketRef, channel: str | None) -> tuple[Account, Ticket]:
        account = self.account_for_ref(ref, channel)
        return account, await self.fetch_ticket(account, ref)

    async def execute(
        self, plan: PlannedUpdate, actor: Actor, channel: str | None, *, idempotency_key: str | None = None
    ) -> UpdateResult:
        return await self.executor.execute(plan, actor, channel, idempotency_key=idempotency_key)

    async def apply(
        self,
        command: UpdateCommand,
        actor: Actor,
        channel: str | None,
        *,
        idempotency_key: str | None = None,
        account: Account | None = None,
        first_try: bool = True,
    ) -> UpdateResult:
        """Plan and apply. An update the ticket already reads raises NothingToChange, unless an
        earlier try of it may have sent its PATCH: then it is sent again (same key, so the API
        replays its answer) rather than call its own change a no-op."""
        plan = await self.plan(command, actor, channel, account=account)
        if not self.preview(plan) and await self._never_sent(plan, idempotency_key, first_try):
            # Confirm with a fresh read (the snapshot may be minutes old) before saying so.
            await self.fetch_ticket(plan.account, command.ref)
            plan = await self.plan(command, actor, channel, account=account)
            if not self.preview(plan):
                raise NothingToChange(already(plan))
        return await self._tried(plan, actor, channel, idempotency_key, first_try)

    async def _never_sent(self, plan: PlannedUpdate, key: str | None, first_try: bool) -> bool:
        """No earlier try of this update got as far as its PATCH: a first try, or a later one
        whose first kept no "before" (it stopped earlier, e.g. at NothingToChange itself)."""
        if first_try:
            return True
        return key is not None and await self.snapshots.before_of(plan.account, key) is None

    async def _tried(
        self, plan: PlannedUpdate, actor: Actor, channel: str | None, key: str | None, first_try: bool
    ) -> UpdateResult:
        """Execute; a first try keeps the ticket it found, so that a later try (whose PATCH is
        replayed, and whose snapshot already shows the change) reports the same change and
        offers an Undo to the same values."""
        if key is not None:
            if first_try:
                await self.snapshots.keep_before(plan.account, key, plan.before)
            else:
                kept = await self.snapshots.before_of(plan.account, key)
                if kept is not None:
                    plan = dataclasses.replace(plan, before=kept)
        return await self.execute(plan, actor, channel, idempotency_key=key)

    async def apply_fields(
        self,
        account: Account,
        ref: TicketRef,
        body: dict[str, Any],
        *,
        actor: Actor,
        channel: str | None,
        idempotency_key: str | None = None,
        first_try: bool = True,
    ) -> UpdateResult:
        plan = await self.plan_fields(account, ref, body, actor, channel)
        if not self.preview(plan) and await self._never_sent(plan, idempotency_key, first_try):
            await self.fetch_ticket(account, ref)
            plan = await self.plan_fields(account, ref, body, actor, channel)
            if not self.preview(plan):
                raise NothingToChange(already(plan))
        return await self._tried(plan, actor, channel, idempotency_key, first_try)
