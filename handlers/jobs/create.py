"""Creating tickets, the worker's part: a `/ticket create` line or a form's values planned against
the tool's create meta and sent once (the job's Idempotency-Key on every try), then the new
ticket's card where it was asked for (a message's thread, synced where the tool allows), its
Undo where the tool deletes tickets; and a create undone (the ticket deleted)."""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks.messages import open_form_blocks
from blocks.text import escape, safe_url
from blocks.threads import synced_message
from bot.domain.accounts import Account
from bot.domain.cards import Card
from bot.domain.commands import Assignment, CreateCommand
from bot.domain.errors import UserInputError
from bot.domain.models import Ticket
from bot.domain.refs import TicketRef
from bot.domain.threads import ThreadLink
from bot.ops import patience
from bot.service.creating import MissingFields
from bot.truto.errors import NotFound
from handlers.jobs import ticket_changed
from handlers.jobs.context import JobContext
from handlers.jobs.delivery import card_to_asker_alone, tell_job_asker
from handlers.jobs.thread_sync import store_of as synced_threads
from handlers.kit import texts
from handlers.kit.card_view import card_options, rendered
from handlers.kit.deps import SlackDeps
from handlers.kit.failures import failure_of
from handlers.kit.identity import as_whom, refused_as_theirs
from handlers.kit.job_data import JobData
from handlers.kit.job_queue import store_for_retry
from handlers.kit.my_tickets import KEPT_AS as MY_TICKETS
from handlers.kit.signed_values import CreateForm
from handlers.kit.surface import NOT_A_MEMBER, answer_privately, private_answer, to_response_url

log = logging.getLogger(__name__)


async def created(ctx: JobContext) -> tuple[Ticket, Account]:
    """The new ticket, planned and sent through the acting account (the person's own where the
    workspace's policy says so); a retried job's POST is answered by the API's replay."""
    deps, data, actor = ctx.deps, ctx.data, ctx.actor
    acting = await ctx.acting()
    title, assignments = "", tuple[Assignment, ...]()
    if data.text:
        command = deps.service.parse(data.text, data.channel, account=acting)
        if not isinstance(command, CreateCommand):
            raise UserInputError("only creates run as create jobs")
        title, assignments = command.title, command.assignments
    creator = deps.service.creator
    plan = await creator.plan(
        acting, actor, data.channel, title=title, assignments=assignments, values=dict(data.body) or None
    )
    with patience.patient(deps.config.settings.job_patience_seconds):
        ticket = await refused_as_theirs(
            acting,
            creator.create(plan, actor, data.channel, idempotency_key=data.key),
            f"create {acting.display_tool} tickets there",
        )
    return ticket, acting


async def run_create(ctx: JobContext) -> None:
    async def told(outcome: tuple[Ticket, Account]) -> None:
        await deliver_created(ctx.deps, ctx.client, ctx.data, ctx.account, *outcome)

    await ctx.complete_then_tell(created(ctx), told, failed=lambda exc: _failed(ctx, exc))


async def _failed(ctx: JobContext, exc: Exception) -> None:
    data = ctx.data
    if isinstance(exc, MissingFields) and data.text and data.user:
        # Named, with the form one click away, prefilled with what was typed.
        form = CreateForm(text=data.text, channel=data.channel, user=data.user).sign(ctx.deps.signer)
        message = texts.refusal(str(exc))
        answer = {**private_answer(message), "blocks": open_form_blocks(message, form)}
        await answer_privately(
            ctx.client, answer, response_url=data.response_url, channel=data.channel, user=data.user
        )
        return
    failure = failure_of(ctx.job.id, data.ticket or "The new ticket", exc)
    retry = await store_for_retry(ctx.deps, data) if failure.retryable else None
    text = failure.text + (" Retry is safe: it cannot create it twice." if failure.unconfirmed else "")
    await tell_job_asker(
        ctx.client, data, text, retry=retry, error_id=failure.error_id, notice=failure.notice
    )


async def _offer_undo(deps: SlackDeps, data: JobData, account: Account, ticket: Ticket) -> str | None:
    """Undo of a create (the ticket deleted), kept UNDO_MINUTES, where the tool deletes tickets."""
    minutes = deps.config.settings.undo_minutes
    if minutes <= 0 or not data.user or not (await deps.service.abilities(account)).can_delete:
        return None
    record = {
        "account": account.name,
        "ticket": ticket.id,
        "ref": ticket.display_ref,
        "delete": True,
        "channel": data.channel,
        "user": data.user,
        "user_name": data.user_name,
    }
    return await deps.undos.put(record, ttl=minutes * 60)


def _linked(ticket: Ticket, url: str | None) -> str:
    """The ticket's key as a link to it (escaped; only a URL fit for a link is one)."""
    ref = escape(ticket.display_ref)
    link = safe_url(url)
    return f"<{link}|{ref}>" if link else ref


def said_created(data: JobData, ticket: Ticket, url: str | None, via: str) -> str:
    """ "@ana created PROJ-61" (a workflow: "A workflow created …"), linked; the thread's card adds
    whose message it came from."""
    who = f"<@{data.user}>" if data.user else "A workflow"
    said = f"{who} created {_linked(ticket, url)}"
    if data.author and data.thread_ts:
        said += f" from <@{data.author}>'s message"
    return f"{said} · {escape(via)}" if via.startswith("as themselves") else said


async def note_created(deps: SlackDeps, data: JobData, account: Account, ticket: Ticket) -> None:
    """A ticket the bot made: its `record:created` event is known as the bot's (a subscribed
    channel where its card was posted is not told twice), and the creator's "My tickets" is read
    again."""
    await deps.own_writes.note(account.integrated_account_id, ticket, data.channel, data.user)
    if data.user:
        await deps.kept_lists.forget(data.user, MY_TICKETS)


async def deliver_created(
    deps: SlackDeps, client: AsyncWebClient, data: JobData, account: Account, ticket: Ticket, acting: Account
) -> None:
    """The new ticket's card where it was asked for, kept up to date from then on; the message's
    thread synced with it where it came from a message; the message's author told."""
    await note_created(deps, data, account, ticket)
    undo_value = await _offer_undo(deps, data, account, ticket)
    url = ticket.web_url or account.ticket_url(ticket.display_ref)
    said = said_created(data, ticket, url, as_whom(acting))
    options = await card_options(
        deps, account, ticket, channel=data.channel, said=said, undo_value=undo_value, undo_deletes=True
    )
    if data.thread_ts:  # its thread is synced by this create (or already follows a ticket)
        options = dataclasses.replace(options, can_sync=False)
    card = rendered(ticket, options)
    kept = await _post(client, data, card)
    if kept is not None:
        record: dict[str, Any] = {"channel": kept.channel or data.channel, "said": said, "undo_deletes": True}
        if undo_value is not None:
            record |= {
                "undo_value": undo_value,
                "undo_until": time.time() + deps.config.settings.undo_minutes * 60,
            }
        await ticket_changed.remember(deps, account, ticket, kept.model_copy(update=record))
    if data.thread_ts and data.channel:
        await _sync_thread(deps, client, data, account, ticket, url)
    if data.author and data.author != data.user:
        await _tell_author(client, data, ticket, url, account.display_tool)


async def _post(client: AsyncWebClient, data: JobData, card: dict[str, Any]) -> Card | None:
    """In the channel (a message's thread, when made from one) as the bot; where the bot may not
    post, to the asker alone (through the command's response_url, else ephemerally, else a DM).
    From no channel (the Home tab): a direct message, kept up to date as any card."""
    if not data.channel and data.user:
        answer = await client.chat_postMessage(channel=data.user, **card)
        return ticket_changed.posted(str(answer.get("channel") or data.user), answer.get("ts"))
    if data.channel:
        try:
            answer = await client.chat_postMessage(channel=data.channel, thread_ts=data.thread_ts, **card)
            return ticket_changed.posted(str(answer.get("channel") or data.channel), answer.get("ts"))
        except SlackApiError as exc:
            if exc.response.get("error") not in NOT_A_MEMBER:
                raise
    if data.response_url:
        await to_response_url(
            data.response_url, {"response_type": "in_channel", "replace_original": False, **card}
        )
        return ticket_changed.through_response_url(data.response_url)
    await card_to_asker_alone(client, data, card, "Created")
    return None


async def _sync_thread(
    deps: SlackDeps, client: AsyncWebClient, data: JobData, account: Account, ticket: Ticket, url: str | None
) -> None:
    """The message's thread follows its new ticket, where the tool's comments can (and the
    thread is a channel's, and follows no ticket yet)."""
    channel, thread = data.channel or "", data.thread_ts or ""
    if not channel.startswith(("C", "G")) or not (await deps.service.abilities(account)).can_sync_threads:
        return
    link = ThreadLink(
        channel=channel,
        thread_ts=thread,
        account=account.name,
        integrated=account.integrated_account_id,
        ticket=ticket.id,
        ref=ticket.display_ref,
        synced_by=data.user or "",
        since=time.time(),
    )
    if not await synced_threads(deps).sync(link):
        return  # already synced with a ticket: left as it is
    message = synced_message(
        data.user or "", ticket.display_ref, url, account.display_tool, deps.ticket_value(account, ticket.id)
    )
    try:
        await client.chat_postMessage(channel=channel, thread_ts=thread, **message)
    except SlackApiError as exc:
        log.info("the synced thread's notice was not posted (%s)", exc.response.get("error"))


async def _tell_author(
    client: AsyncWebClient, data: JobData, ticket: Ticket, url: str | None, tool: str
) -> None:
    """The message's author hears that their message became a ticket (a DM)."""
    named = _linked(ticket, url)
    where = f" in <#{data.channel}>" if data.channel else ""
    text = (
        f"<@{data.user}> created {named} in {escape(tool)} from your message{where}: "
        f"{escape(ticket.name or '')}"
    )
    try:
        await client.chat_postMessage(channel=str(data.author), text=text)
    except SlackApiError as exc:
        log.info(
            "the message's author was not told of %s (%s)", ticket.display_ref, exc.response.get("error")
        )


async def run_delete(ctx: JobContext) -> None:
    """A create undone: the ticket deleted through the acting account; its card says so."""
    deps, data = ctx.deps, ctx.data

    async def delete() -> Ticket:
        acting = await ctx.acting()
        try:
            ticket = await deps.service.fetch_ticket(acting, TicketRef(data.ticket))
        except NotFound:
            return Ticket(id=data.ticket)  # an earlier try deleted it: the outcome is the same
        try:
            deleting = deps.service.creator.delete(acting, ticket, ctx.actor, data.channel)
            await refused_as_theirs(acting, deleting, f"delete {ticket.display_ref}")
        except NotFound:
            pass  # deleted meanwhile
        return ticket

    async def told(ticket: Ticket) -> None:
        tool = escape(ctx.account.display_tool)
        text = f"<@{data.user}> undid the creation of {escape(ticket.display_ref)}: it was deleted in {tool}."
        if data.response_url:
            await to_response_url(data.response_url, {"replace_original": True, "text": text, "blocks": []})
        elif data.channel and data.user:
            await client_say(ctx.client, data, text)

    await ctx.complete_then_tell(delete(), told, failed=lambda exc: _failed(ctx, exc))


async def client_say(client: AsyncWebClient, data: JobData, text: str) -> None:
    try:
        await client.chat_postMessage(channel=str(data.channel), text=text)
    except SlackApiError as exc:
        log.info("the undone create was not told (%s)", exc.response.get("error"))
