"""Applying a planned update: one PATCH (its Idempotency-Key on every retry), the new snapshot,
the audit record, the metric."""

from __future__ import annotations

import uuid

from bot.domain.actors import Actor
from bot.ops.logs import bind
from bot.ops.metrics import UPDATES
from bot.service.audit import AuditRecord, AuditTrail
from bot.service.snapshots import Snapshots
from bot.service.updates import PlannedUpdate, UpdateResult, changes_between
from bot.truto.client import TrutoClient


class Executor:
    def __init__(self, client: TrutoClient, snapshots: Snapshots, audit: AuditTrail | None = None) -> None:
        self.client = client
        self.snapshots = snapshots
        self.audit = audit

    async def execute(
        self, plan: PlannedUpdate, actor: Actor, channel: str | None, *, idempotency_key: str | None = None
    ) -> UpdateResult:
        """PATCH once; the ticket comes from the PATCH answer (no GET after it). Audited."""
        key = idempotency_key or uuid.uuid4().hex
        bind(ticket=plan.ticket_id, account=plan.account.name)
        try:
            ticket = await self.client.update_ticket(
                plan.ticket_id, plan.update, plan.query, idempotency_key=key, account=plan.account
            )
        except Exception:
            UPDATES.labels("failed").inc()
            raise
        UPDATES.labels("applied").inc()
        await self.snapshots.put(plan.account, ticket, plan.typed_ref)
        changes = changes_between(plan.targets, plan.before, ticket, plan.labels, plan.options)
        result = UpdateResult(plan.account, ticket, changes, key, plan.before, plan.targets)
        if self.audit is not None:
            await self.audit.record(
                AuditRecord.now(
                    user_id=actor.slack_user_id,
                    user_name=actor.described,
                    channel=channel,
                    account=plan.account.name,
                    ticket=ticket.display_ref,
                    changes=[
                        {"field": c.label, "before": c.before, "after": c.after} for c in result.changes
                    ],
                    status=200,
                    idempotency_key=key,
                    via="personal" if plan.account.acting_as else "shared",
                )
            )
        return result
