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
from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from bot.ops.metrics import WEBHOOK_EVENTS
from bot.slack.bodies import BodyReader, BodyRefused, json_depth_ok
from bot.truto.webhook_events import SIGNATURE_HEADER, Delivery, signature_valid, ticket_event
from handlers.deps import SlackDeps
from handlers.job_data import JobData
from handlers.job_queue import Busy, put_job

log = logging.getLogger(__name__)

PATH = "/truto/webhooks"
KNOWN_EVENTS = frozenset({"record:created", "record:updated", "record:deleted", "test"})


def _answer(status: int, verdict: str, event: str = "unverified") -> Response:
    WEBHOOK_EVENTS.labels(event if event in KNOWN_EVENTS else "other", verdict).inc()
    headers = {"Connection": "close"} if status in (400, 408, 413) else None
    return PlainTextResponse(verdict, status_code=status, headers=headers)


class TrutoWebhooks:
    """The route's endpoint."""

    def __init__(self, deps: SlackDeps, bodies: BodyReader) -> None:
        self.deps = deps
        self.bodies = bodies

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
        if not json_depth_ok(body):
            return _answer(400, "too deeply nested", "other")
        try:
            delivery = Delivery.parse(json.loads(body))
        except ValueError:
            delivery = None
        if delivery is None:
            return _answer(400, "not a webhook delivery", "other")
        return await self._handle(delivery)

    async def _handle(self, delivery: Delivery) -> Response:
        settings = self.deps.config.settings
        age = delivery.age(datetime.now(UTC))
        if age is None or abs(age) > settings.webhook_max_age_seconds:
            log.info("webhook event %s refused: created_at missing or %s s away", delivery.id, age)
            return _answer(400, "stale or undated event", delivery.event)
        event = ticket_event(delivery)
        accounts = self.deps.config.accounts.values()
        account = next(
            (
                a
                for a in accounts
                if event is not None and a.integrated_account_id == event.integrated_account_id
            ),
            None,
        )
        if event is None or account is None:
            log.debug(
                "webhook event %s (%s) is not about a ticket of ours; ignored", delivery.id, delivery.event
            )
            return _answer(200, "ignored", delivery.event)
        if not await self.deps.cards.cards(event.integrated_account_id, event.ticket_id):
            return _answer(200, "no cards", delivery.event)  # most changes: no card shows the ticket
        marks = self.deps.refresh_marks
        if not await marks.first_delivery(delivery.id):
            return _answer(200, "duplicate", delivery.event)
        if not await marks.start_refresh(event.integrated_account_id, event.ticket_id, event.action):
            return _answer(200, "coalesced", delivery.event)  # a job for this ticket has not read it yet
        created = delivery.created_at.timestamp() if delivery.created_at else None
        job = JobData.for_account(
            account,
            kind="refresh",
            surface="webhook",
            ticket=event.ticket_id,
            event=event.action,
            changed_at=created,
            not_before=time.time() + settings.webhook_coalesce_seconds,
            key=f"evt:{delivery.id}",
        )
        try:
            await put_job(self.deps, job)
        except Busy:
            await marks.forget(delivery.id, event.integrated_account_id, event.ticket_id, event.action)
            return _answer(503, "busy", delivery.event)
        return _answer(200, "queued", delivery.event)
