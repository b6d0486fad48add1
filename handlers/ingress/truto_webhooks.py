"""POST /truto/webhooks: the unified API's `record:*` events, turned into `refresh` jobs.

Order matters: the body is read within its limits, then its signature (X-Truto-Signature, over
the raw bytes, under any of TRUTO_WEBHOOK_SECRET's secrets) is checked before anything is
parsed, stored or sent. An unverified request gets 401 and has no other effect. Then: events
older than WEBHOOK_MAX_AGE_SECONDS are refused (a replay of captured bytes), each event id is
handled once (the API retries a delivery not answered 200), and the answer is immediate: the
work is a durable job like any other.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.domain.accounts import Account
from bot.ops.metrics import WEBHOOK_EVENTS
from bot.slack.bodies import BodyReader, BodyRefused, json_depth_ok
from bot.truto.webhook_events import (
    SIGNATURE_HEADER,
    CommentEvent,
    Delivery,
    TicketEvent,
    comment_events,
    ignored_because,
    signature_valid,
    ticket_events,
)
from handlers.ingress.connections import Connections
from handlers.ingress.own_accounts import ACCOUNT_EVENT, OwnAccounts
from handlers.jobs import notify_people
from handlers.jobs.subscribers import has_subscriptions
from handlers.jobs.thread_sync import store_of as threads_store
from handlers.jobs.thread_sync import threads_of
from handlers.jobs.ticket_changed import anyone_cares
from handlers.kit.deps import SlackDeps
from handlers.kit.job_data import JobData
from handlers.kit.job_queue import Busy, put_job

log = logging.getLogger(__name__)

PATH = "/truto/webhooks"
KNOWN_EVENTS = frozenset({"record:created", "record:updated", "record:deleted", "test", "account"})


def _answer(status: int, verdict: str, event: str = "unverified") -> Response:
    WEBHOOK_EVENTS.labels(event if event in KNOWN_EVENTS else "other", verdict).inc()
    headers = {"Connection": "close"} if status in (400, 408, 413, 503) else None
    return PlainTextResponse(verdict, status_code=status, headers=headers)


class TrutoWebhooks:
    """The route's endpoint."""

    def __init__(
        self,
        deps: SlackDeps,
        bodies: BodyReader,
        connections: Connections | None = None,
        own_accounts: OwnAccounts | None = None,
    ) -> None:
        self.deps = deps
        self.bodies = bodies
        self.connections = connections  # distributed mode: `integrated_account:*` events
        # Single-workspace mode: the events of people's own accounts (where they are offered).
        self.own_accounts = own_accounts

    async def _accounts(
        self, events: Sequence[TicketEvent | CommentEvent]
    ) -> dict[str, tuple[Account, str | None]]:
        """The events' accounts known here, each with its tenant (distributed mode: the
        workspace that connected it; no other workspace's cards are touched)."""
        if self.connections is None:
            return {a.integrated_account_id: (a, None) for a in self.deps.config.accounts.values()}
        found: dict[str, tuple[Account, str | None]] = {}
        workspaces = self.connections.workspaces
        for event in events:
            owner = await workspaces.accounts.by_account(event.integrated_account_id)
            if owner is None or await workspaces.bot(owner.tenant_id) is None:
                continue
            config = await workspaces.config_for(owner.tenant_id)
            for account in config.accounts.values():
                if account.integrated_account_id == event.integrated_account_id:
                    found[event.integrated_account_id] = (account, owner.tenant_id)
        return found

    async def receive(self, request: Request) -> Response:
        settings = self.deps.config.settings
        secrets = settings.webhook_secrets
        if not secrets:
            return _answer(404, "not found")  # names no setting: the caller is anonymous
        try:
            body = await self.bodies.read(request)
        except BodyRefused as refused:
            return _answer(refused.status, refused.reason)
        if not signature_valid(body, request.headers.get(SIGNATURE_HEADER), secrets):
            log.info("webhook delivery refused: invalid signature")
            return _answer(401, "invalid signature")
        # Signed from here on: whatever the bot will not act on is answered 2xx with nothing done,
        # so the API does not retry it (and, failing again and again, deactivate the webhook).
        if not json_depth_ok(body):
            return _answer(200, "ignored: too deeply nested", "other")
        try:
            delivery = Delivery.parse(json.loads(body))
        except ValueError:
            delivery = None
        if delivery is None:
            return _answer(200, "ignored: not a webhook delivery", "other")
        if delivery.event == "test":
            return _answer(200, "test received", "test")
        if delivery.event.startswith(ACCOUNT_EVENT):
            handler = self.connections or self.own_accounts
            if handler is None or not self._fresh(delivery):
                return _answer(200, "ignored", "account")
            return _answer(200, await handler.handle(delivery), "account")
        return await self._handle(delivery)

    def _fresh(self, delivery: Delivery) -> bool:
        age = delivery.age(datetime.now(UTC))
        return age is not None and abs(age) <= self.deps.config.settings.webhook_max_age_seconds

    async def _handle(self, delivery: Delivery) -> Response:
        settings = self.deps.config.settings
        if not self._fresh(delivery):
            log.info("webhook event %s ignored: created_at missing or too far away", delivery.id)
            return _answer(200, "ignored: stale or undated event", delivery.event)
        events = ticket_events(delivery)
        if not events and (comments := comment_events(delivery)):
            return await self._comments(delivery, comments)
        accounts = await self._accounts(events)
        ours = [e for e in events if e.integrated_account_id in accounts]
        if not ours:
            why = "not an account of ours" if events else ignored_because(delivery)
            log.debug("webhook event %s (%s) ignored: %s", delivery.id, delivery.event, why)
            return _answer(200, f"ignored: {why}", delivery.event)
        shown = [
            e
            for e in ours
            if await anyone_cares(
                self.deps, e.integrated_account_id, e.ticket_id, accounts[e.integrated_account_id][1]
            )
        ]
        if not shown:
            return _answer(200, "no cards", delivery.event)  # most changes: no card shows the ticket
        marks = self.deps.refresh_marks
        if not await marks.first_delivery(delivery.id):
            return _answer(200, "duplicate", delivery.event)
        created = delivery.created_at.timestamp() if delivery.created_at else None
        queued = 0
        for event in shown:
            if not await marks.start_refresh(event.integrated_account_id, event.ticket_id, event.action):
                continue  # a job for this ticket has not read it yet: it will see this change too
            account, tenant = accounts[event.integrated_account_id]
            job = JobData.for_account(
                account,
                tenant=tenant,
                kind="refresh",
                surface="webhook",
                ticket=event.ticket_id,
                event=event.action,
                changed_at=created,
                not_before=time.time() + settings.webhook_coalesce_seconds,
                key=f"evt:{delivery.id}:{event.ticket_id}",
            )
            try:
                await put_job(self.deps, job)
            except Busy:
                await marks.forget(delivery.id, event.integrated_account_id, event.ticket_id, event.action)
                return _answer(503, "busy", delivery.event)
            queued += 1
        return _answer(200, "queued" if queued else "coalesced", delivery.event)

    async def _comments(self, delivery: Delivery, comments: list[CommentEvent]) -> Response:
        """A comment made on a ticket: posted in the threads synced with it (a job). Only new
        comments are posted; an edit or a deletion made in the tool leaves the thread as it is."""
        accounts = await self._accounts(comments)
        ours = [c for c in comments if c.integrated_account_id in accounts]
        if not ours:
            return _answer(200, "ignored: not an account of ours", delivery.event)
        synced: list[CommentEvent] = []
        for event in ours:
            integrated, scope = event.integrated_account_id, accounts[event.integrated_account_id][1]
            # The tool sends them: its tickets' changes need no read of their comments.
            await threads_store(self.deps, scope).hear_comment_events(integrated)
            if event.action == "created" and await self._comment_heard_by(integrated, event.ticket_id, scope):
                synced.append(event)
        if not synced:
            return _answer(200, "nobody follows its comments", delivery.event)
        if not await self.deps.refresh_marks.first_delivery(delivery.id):
            return _answer(200, "duplicate", delivery.event)
        wait = self.deps.config.settings.webhook_coalesce_seconds
        for event in synced:
            account, tenant = accounts[event.integrated_account_id]
            job = JobData.for_account(
                account,
                tenant=tenant,
                kind="thread",
                surface="webhook",
                ticket=event.ticket_id,
                event="tool_comment",
                body=_kept(event.record),
                not_before=time.time() + wait,
                key=f"evt:{delivery.id}:{event.comment_id}",
            )
            try:
                await put_job(self.deps, job)
            except Busy:
                return _answer(503, "busy", delivery.event)
        return _answer(200, "queued", delivery.event)

    async def _comment_heard_by(self, integrated: str, ticket: str, scope: str | None) -> bool:
        """Anyone hears of a new comment on this ticket: a thread synced with it, a channel
        subscribed to the account (its filter is checked by the job), people notified."""
        return bool(
            await threads_of(self.deps, integrated, ticket, scope)
            or await has_subscriptions(self.deps, integrated)
            or await notify_people.anyone(self.deps, scope)
        )


COMMENT_KEPT = 8000  # characters of a comment's text a job carries (a thread shows 1,500)


def _kept(record: Mapping[str, Any]) -> dict[str, Any]:
    """What a thread needs of a comment, bounded: its id, ticket, author, time and text."""
    kept: dict[str, Any] = {k: record[k] for k in ("id", "ticket", "created_at") if k in record}
    author = record.get("author")
    if isinstance(author, dict):
        kept["author"] = {k: str(author[k])[:200] for k in ("id", "name", "email") if author.get(k)}
    for name in ("body", "html_body"):
        if isinstance(record.get(name), str):
            kept[name] = record[name][:COMMENT_KEPT]
    return kept
