"""The fast ack: a signed `/ticket update` goes from the edge straight to its durable job and
its empty 200, and a live select's keystroke to its options, without Bolt.

The command people type most is also the one whose ack does the least: write the job, answer
nothing. Through Bolt that costs its middleware chain, a second signature check and the
keyword injection of each listener, about two thirds of an ack (bench/README.md, "Acks at the
floor"), and the edge's replay guard costs a Redis round trip of its own. Here the replay
marker, the per-user quota and the job are one script, one round trip (job.Gate).

Only what this path answers exactly as Bolt's would is taken (tests/scenarios/test_fast_ack.py
compares the two): an update that needs no preview and no bulk plan, and a keystroke in the
edit form's live selects. Everything else (help, show, edit, a preview, a bulk update, a
mistake, every other interaction) goes on to Bolt, which checks the replay guard first as
before; the decision is made before anything is written, so each request passes exactly one of
the two guards, on the same marker.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import unquote_plus

from slack_bolt import BoltResponse
from slack_bolt.context.ack.async_ack import AsyncAck

from blocks import ids
from bot.domain.commands import UpdateCommand
from bot.domain.errors import ParseError, UserInputError
from bot.domain.tenants import tenant_of
from bot.ops.logs import bind_request
from bot.ops.metrics import ACK_SECONDS, QUOTA_REFUSALS
from bot.slack.bodies import json_depth_ok
from bot.slack.edge import ReplayGuard
from bot.store.queue import Gate, OverQuota
from handlers.ingress.answers import json_response, too_many_requests
from handlers.kit import texts
from handlers.kit.deps import SlackDeps
from handlers.kit.job_queue import enqueue
from handlers.kit.payloads import dig
from handlers.kit.surface import private_answer
from handlers.listeners.actions.preview import wants_preview
from handlers.listeners.commands.ticket import update_job
from handlers.listeners.options import live_selects as options

log = logging.getLogger(__name__)
FORM = "application/x-www-form-urlencoded"


# The fields of a slash command's form this path reads (Slack's own names, never encoded).
_READ = frozenset(
    {
        b"command",
        b"text",
        b"team_id",
        b"user_id",
        b"user_name",
        b"channel_id",
        b"trigger_id",
        b"response_url",
        b"ssl_check",
        b"enterprise_id",
        b"is_enterprise_install",
    }
)
# Distributed mode: a workspace's dependencies, or None when it is not installed (Bolt answers).
Tenants = Callable[[str], Awaitable[SlackDeps | None]]


def _form(body: bytes, headers: Mapping[str, str]) -> dict[str, str] | None:
    """The fields this path reads, decoding only those (parse_qsl decodes every field); None
    for anything but a plain form, whose reading is left to Bolt."""
    if not headers.get("content-type", "").startswith(FORM):
        return None
    form: dict[str, str] = {}
    try:
        for pair in body.split(b"&"):
            name, _, value = pair.partition(b"=")
            if b"%" in name or b"+" in name:
                return None  # an encoded name: Bolt's parser reads it
            if name in _READ:
                form[name.decode("ascii")] = unquote_plus(value.decode("ascii"), errors="strict")
    except UnicodeError:
        return None
    return form


def _id_of(payload: dict[str, Any], name: str) -> str | None:
    part = payload.get(name)
    found = part.get("id") if isinstance(part, dict) else None
    return found if isinstance(found, str) else None


class FastAck:
    def __init__(self, deps: SlackDeps, replay: ReplayGuard, tenants: Tenants | None = None) -> None:
        self.deps = deps
        self.replay = replay
        self.tenants = tenants

    async def _deps(self, team: str | None, enterprise: str | None, org: bool) -> SlackDeps | None:
        """The request's dependencies: the deployment's, or (distributed mode) its workspace's."""
        if self.tenants is None:
            return self.deps
        try:
            return await self.tenants(tenant_of(team, enterprise, org))
        except ValueError:
            return None

    @staticmethod
    def _update(deps: SlackDeps, form: dict[str, str]) -> UpdateCommand | None:
        """The form's update, when it is one this path answers."""
        if form.get("command") != ids.COMMAND or form.get("ssl_check"):
            return None
        try:
            command = deps.service.parse(form.get("text") or "", form.get("channel_id"))
        except ParseError:
            return None  # answered by Bolt's listener, in the ack
        if not isinstance(command, UpdateCommand) or command.bulk or wants_preview(deps, command):
            return None
        return command

    def _gate(self, deps: SlackDeps, headers: Mapping[str, str], form: dict[str, str]) -> Gate:
        replay, ttl = self.replay.marker(headers), self.replay.window
        quota = deps.quota
        counter = quota.counter(form.get("team_id"), form.get("user_id")) if quota is not None else None
        if quota is None or counter is None:
            return Gate(replay, ttl)
        name, window, local = counter
        return Gate(replay, ttl, name, quota.per_minute, window, local)

    async def __call__(self, body: bytes, headers: Mapping[str, str]) -> BoltResponse | None:
        """The answer to a verified request, or None: Bolt's to answer."""
        if body.startswith(b"payload="):
            return await self._suggestion(body, headers)
        form = _form(body, headers)
        if form is None:
            return None
        try:
            org = form.get("is_enterprise_install") == "true"
            deps = await self._deps(form.get("team_id"), form.get("enterprise_id"), org)
            command = self._update(deps, form) if deps is not None else None
        except Exception:  # nothing is written yet: Bolt's error policy answers it
            log.exception("fast ack: the command could not be read; left to Bolt")
            return None
        if deps is None or command is None:
            return None
        started = time.perf_counter()
        bind_request(team=form.get("team_id"), user=form.get("user_id"), channel=form.get("channel_id"))
        fields: dict[str, Any] = dict(form)
        try:
            job, key = update_job(deps, command, fields)
            await enqueue(deps, job, dedupe=key, gate=self._gate(deps, headers, form))
        except OverQuota:
            QUOTA_REFUSALS.inc()
            log.info("per-user quota reached; request answered, nothing queued")
            return await too_many_requests(
                fields, deps.config.settings.user_quota_per_minute, deps.background
            )
        except UserInputError as refused:  # no account for the channel, or Busy
            return json_response(private_answer(texts.refusal(str(refused))))
        ACK_SECONDS.labels("command").observe(time.perf_counter() - started)
        return BoltResponse(status=200, body="")

    async def _suggestion(self, body: bytes, headers: Mapping[str, str]) -> BoltResponse | None:
        """A live select's keystroke (block_suggestion), answered by the same listener Bolt
        would call (handlers/options.py), after the same checks: the nesting bound and the
        replay guard. Bolt looks for its listener through every registered one's matchers
        first, more than half of such a request's time."""
        if not headers.get("content-type", "").startswith(FORM) or b"&" in body:
            return None
        try:
            text = unquote_plus(body[len(b"payload=") :].decode("ascii"), errors="strict")
        except UnicodeError:
            return None
        if '"block_suggestion"' not in text or not json_depth_ok(text):
            return None  # Bolt's: it refuses what nests too deeply, as for any payload
        try:
            payload = json.loads(text)
        except ValueError:
            return None
        if not isinstance(payload, dict) or payload.get("type") != "block_suggestion":
            return None
        if payload.get("action_id") != ids.FIELD_ACTION:
            return None
        enterprise = payload.get("enterprise")
        deps = await self._deps(
            _id_of(payload, "team") or (_id_of(payload, "user") and dig(payload, "user", "team_id")),
            enterprise.get("id") if isinstance(enterprise, dict) else None,
            payload.get("is_enterprise_install") is True,
        )
        if deps is None:
            return None
        if not await self.replay.first_time(headers):
            return BoltResponse(status=200, body="")
        bind_request(team=_id_of(payload, "team"), user=_id_of(payload, "user"))
        started = time.perf_counter()
        ack = AsyncAck()  # type: ignore[no-untyped-call]
        try:
            await options.suggest(ack, payload, deps)
        except Exception:  # a select that cannot be answered shows no options, as through Bolt
            log.exception("live select could not be answered")
            return json_response({"options": []})
        ACK_SECONDS.labels("options").observe(time.perf_counter() - started)
        return ack.response or BoltResponse(status=200, body="")
