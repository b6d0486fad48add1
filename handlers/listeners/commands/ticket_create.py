"""`/ticket create <title> [field=value …]`: a line with everything the tool requires becomes a
durable create job before the ack (its Idempotency-Key from the request: a retry or a double
send makes one ticket); a line missing a required field (as far as the account's create meta and
field definitions, kept a moment ago, say) opens the create form instead, prefilled, and the
answer names what is missing with what it takes. `/ticket create` alone opens the form. "Open
the form" under a create whose job found fields missing opens it the same way.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Literal

from slack_bolt.async_app import AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids
from bot.domain.accounts import Account
from bot.domain.actors import Actor
from bot.domain.commands import CreateCommand
from bot.domain.errors import ParseError, UserInputError
from bot.service.creating import Missing, MissingFields
from handlers.kit import texts
from handlers.kit.create_form import Prefill, open_create, typed_body
from handlers.kit.deps import SlackDeps, deps_of, idempotency_key
from handlers.kit.job_data import JobData
from handlers.kit.job_queue import enqueue
from handlers.kit.payloads import first_action, user_of
from handlers.kit.signed_values import CreateForm
from handlers.kit.surface import ack_only, asker_of, guarded

# How long the ack may wait for the create meta and field definitions (kept in Redis, so a few
# milliseconds; when they must be read from the API, the job checks instead).
QUICK_CHECK_SECONDS = 0.5


@dataclass(frozen=True)
class Decision:
    """What a `/ticket create` does: queue its job, open the form, or refuse (`refusal`)."""

    action: Literal["queue", "form", "refuse"]
    refusal: str = ""


async def _known_missing(deps: SlackDeps, account: Account, command: CreateCommand) -> list[Missing] | None:
    """Required fields the line lacks, from what is kept; None when that cannot be known in time
    (the job checks, before any POST)."""
    body = typed_body(command.title, command.assignments)
    checking = asyncio.ensure_future(deps.service.creator.missing(account, body))
    try:
        # Shielded: a slow answer still lands in the cache for the next command.
        return await asyncio.wait_for(asyncio.shield(checking), QUICK_CHECK_SECONDS)
    except (TimeoutError, UserInputError):
        return None
    except Exception:  # the API could not be asked: the job will
        return None


async def decide(deps: SlackDeps, command: CreateCommand, body: dict[str, Any]) -> Decision:
    """Before the ack: who may, then whether the line is complete (queued) or the form opens."""
    channel = body.get("channel_id")
    try:
        account = deps.service.account_for(channel)
        await deps.service.creator.check_may_create(
            account, Actor(slack_user_id=body.get("user_id")), channel, command.fields, ask_the_tool=False
        )
    except UserInputError as refused:
        return Decision("refuse", str(refused))
    if not command.title and not command.assignments:
        return Decision("form")
    missing = await _known_missing(deps, account, command)
    return Decision("form" if missing else "queue")


async def queue(deps: SlackDeps, body: dict[str, Any]) -> None:
    """The create's durable job, written before the ack. UserInputError: no account, or Busy."""
    channel = body.get("channel_id")
    key = idempotency_key(body.get("team_id"), body.get("user_id"), body.get("trigger_id"))
    account = deps.service.account_for(channel)
    job = JobData.for_account(
        account, kind="create", surface="command", text=body.get("text") or "", key=key, **asker_of(body)
    )
    await enqueue(deps, job, dedupe=key)


async def open_form(
    deps: SlackDeps,
    client: AsyncWebClient,
    respond: AsyncRespond | None,
    trigger_id: str,
    text: str,
    channel: str | None,
    user: str,
) -> None:
    """The form, prefilled with the line; what it lacks said beside it, with what each takes."""
    command = deps.service.parse(text, channel)
    if not isinstance(command, CreateCommand):
        raise UserInputError("that is not a /ticket create line")
    account = deps.service.account_for(channel)
    typed = bool(command.title or command.assignments)
    prefill = Prefill(title=command.title, assignments=command.assignments, name_missing=typed)
    # The form opens first (its trigger lives 3 s); what it lacks is worked out while it loads.
    missing = await open_create(deps, client, trigger_id, account, channel, user, prefill)
    if missing and respond is not None:
        said = str(MissingFields(account.display_tool, missing))
        await respond(
            response_type="ephemeral",
            replace_original=False,
            text=f"{said.removesuffix('.')}: the form is open, with what you typed.",
        )


@guarded
async def form_button_clicked(
    body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext
) -> None:
    """ "Open the form" under a create that lacked fields: only for whoever typed it."""
    deps = deps_of(context)
    form = CreateForm.verify(deps.signer, first_action(body).get("value"))
    if form is None:
        raise UserInputError(texts.FORGED_BUTTON)
    if form.user != user_of(body):
        raise UserInputError("Only the person who typed this /ticket create can open its form.")
    try:
        await open_form(deps, client, None, body["trigger_id"], form.text, form.channel, form.user)
    except ParseError as exc:
        raise UserInputError(str(exc)) from None


def register(app: AsyncApp) -> None:
    app.action(ids.CREATE_FORM_BUTTON)(ack=ack_only, lazy=[form_button_clicked])
