"""Synced threads' work: a reply becomes a comment (an edit changes it, a deletion removes it,
where the tool allows), and a comment made in the tool is posted in the ticket's threads.

Nothing loops: replies the bot posted never reach here (their events carry a bot id), and a
comment the bot wrote is marked before it is sent (by its text) and after (by its id), so its
event, or a read of the ticket's comments, finds it ours. Each tool comment is posted once per
thread (an event and a read of the comments agree through one marker).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks.threads import author_name, comment_text, tool_comment_message
from bot.domain.accounts import Account
from bot.domain.models import JsonDict
from bot.domain.refs import TicketRef
from bot.domain.threads import ThreadLink
from bot.service.comments import edit_reply, post_reply, recent_comments
from bot.store.synced_threads import ActiveTickets, SyncedThreads
from bot.truto.client import BULK
from bot.truto.webhook_events import parse_time
from handlers.jobs import notify_people, subscribers
from handlers.jobs.context import JobContext
from handlers.jobs.digests import Workspace
from handlers.kit.deps import SlackDeps
from handlers.kit.surface import new_error_id, user_message

log = logging.getLogger(__name__)
SCOPE = "workspace"  # single-workspace mode's


POLL_EVERY = 300.0  # seconds between reads of an active ticket's comments (no comment events)
ACTIVE_FOR = 3600.0  # a ticket's threads count as active this long after their last use
TICK_SECONDS = 60.0


def store_of(deps: SlackDeps, scope: str | None = None) -> SyncedThreads:
    return SyncedThreads(deps.core.cache.backend, scope or deps.tenant or SCOPE)


async def forget_tenant(deps: SlackDeps, tenant: str) -> None:
    await ActiveTickets(deps.core.cache.backend).forget_tenant(tenant)


async def used(deps: SlackDeps, integrated: str, ticket: str) -> None:
    """A thread of this ticket was just used: its comments are read while it stays active."""
    await ActiveTickets(deps.core.cache.backend).active(deps.tenant or "", integrated, ticket)


async def threads_of(
    deps: SlackDeps, integrated: str, ticket: str, scope: str | None = None
) -> list[ThreadLink]:
    return await store_of(deps, scope).of_ticket(integrated, ticket)


async def _tell_privately(client: AsyncWebClient, channel: str, thread_ts: str, user: str, text: str) -> None:
    try:
        await client.chat_postEphemeral(channel=channel, user=user, thread_ts=thread_ts, text=text)
    except SlackApiError as exc:
        log.info("synced thread note not shown in %s (%s)", channel, exc.response.get("error"))


async def _speaker(deps: SlackDeps, account: Account, user: str) -> str | None:
    """The person's name to write before their words, where the comment is not theirs (the
    workspace's account); None where it is (their own connection)."""
    if account.acting_as is not None:
        return None
    directory = deps.core.slack_directory
    name = await directory.name_of(user) if directory is not None else None
    return name or user  # Slack did not say: its id, which the workspace can look up


async def run_thread(ctx: JobContext) -> None:
    data = ctx.data
    if data.event == "tool_comment":
        await _post_tool_comment(ctx.deps, ctx.client, ctx.account, data.ticket, data.body, data.not_before)
        await ctx.deps.jobs.complete(ctx.job)
        return
    store = store_of(ctx.deps)
    link = await store.of_thread(data.channel or "", data.thread_ts or "")
    if link is None or link.integrated != ctx.account.integrated_account_id:
        await ctx.deps.jobs.complete(ctx.job)  # unsynced meanwhile: the reply stays in Slack
        return
    channel, thread_ts, user = link.channel, link.thread_ts, data.user or ""

    async def work() -> str | None:
        if data.event == "edit":
            return await _edit(ctx, store, link)
        if data.event == "delete":
            return await _delete(ctx, store, link)
        return await _reply(ctx, store, link)

    async def told(note: str | None) -> None:
        if note and user:
            await _tell_privately(ctx.client, channel, thread_ts, user, note)

    async def failed(exc: Exception) -> None:
        said = user_message(exc)
        if said is None:
            error_id = new_error_id()
            log.error("synced reply in %s failed: error %s", channel, error_id, exc_info=exc)
            said = f"something went wrong (error {error_id})"
        if user:
            what = "Your reply was not added" if data.event == "reply" else "Your change was not made"
            await _tell_privately(
                ctx.client,
                channel,
                thread_ts,
                user,
                f"{what} to {link.ref} in {ctx.account.display_tool}: {said}",
            )

    await ctx.complete_then_tell(work(), told, failed)


async def _reply(ctx: JobContext, store: SyncedThreads, link: ThreadLink) -> str | None:
    data, account = ctx.data, await ctx.acting()
    integrated = ctx.account.integrated_account_id

    async def marking(text: str) -> None:
        await store.writing(integrated, link.ticket, text)

    comment_id, _ = await post_reply(
        ctx.deps.service,
        account,
        link.ticket,
        data.text or "",
        ctx.actor,
        link.channel,
        idempotency_key=data.key,
        said_by=await _speaker(ctx.deps, account, data.user or ""),
        before_sending=marking,
    )
    if comment_id is not None:
        await store.wrote(integrated, comment_id)
        await store.remember_reply(link.channel, data.message_ts or "", comment_id)
    await store.touch(link)
    await used(ctx.deps, integrated, link.ticket)
    return None


async def _edit(ctx: JobContext, store: SyncedThreads, link: ThreadLink) -> str | None:
    data = ctx.data
    comment_id = await store.comment_of_reply(link.channel, data.message_ts or "")
    if comment_id is None:
        return None  # a reply that never became a comment (sent before the thread was synced)
    tool = ctx.account.display_tool
    if not (await ctx.deps.service.abilities(ctx.account)).comments_can("update"):
        return f"Edits are not synced to {tool}: the comment on {link.ref} keeps what you first wrote."
    account = await ctx.acting()

    async def marking(text: str) -> None:
        await store.writing(ctx.account.integrated_account_id, link.ticket, text)

    await edit_reply(
        ctx.deps.service,
        account,
        link.ticket,
        comment_id,
        data.text or "",
        ctx.actor,
        idempotency_key=data.key,
        said_by=await _speaker(ctx.deps, account, data.user or ""),
        before_sending=marking,
    )
    return None


async def _delete(ctx: JobContext, store: SyncedThreads, link: ThreadLink) -> str | None:
    data = ctx.data
    comment_id = await store.comment_of_reply(link.channel, data.message_ts or "")
    if comment_id is None:
        return None
    tool = ctx.account.display_tool
    if not (await ctx.deps.service.abilities(ctx.account)).comments_can("delete"):
        return f"Deleting a reply here does not delete its comment on {link.ref}: {tool} keeps it."
    account = await ctx.acting()
    await ctx.deps.service.client.delete_comment(account, comment_id)
    await store.forget_reply(link.channel, data.message_ts or "")
    return None


# -- the tool's comments into the threads ---------------------------------------------------


def _comment_id(comment: JsonDict) -> str | None:
    found = comment.get("id")
    return str(found) if isinstance(found, str | int) and str(found) else None


def _created(comment: JsonDict) -> float | None:
    when = parse_time(comment.get("created_at"))
    return when.timestamp() if isinstance(when, datetime) else None


async def post_in_threads(
    deps: SlackDeps,
    client: AsyncWebClient,
    account: Account,
    links: Sequence[ThreadLink],
    comments: Sequence[JsonDict],
) -> int:
    """Each comment the bot did not write, made since the thread was synced, in each thread
    once; how many messages were posted."""
    store = store_of(deps)
    ticket = (
        await deps.service.recent_ticket(account, TicketRef(links[0].ticket)) if links and comments else None
    )
    url = (ticket.web_url or account.ticket_url(ticket.display_ref)) if ticket is not None else None
    posted = 0
    for comment in comments:
        comment_id = _comment_id(comment)
        created = _created(comment)
        if comment_id is None or not comment_text(comment):
            continue
        if await store.ours(
            account.integrated_account_id, links[0].ticket, comment_id, comment_text(comment)
        ):
            continue
        for link in links:
            if created is not None and created < link.since:
                continue  # written before the thread was synced
            if not await store.first_post(
                account.integrated_account_id, comment_id, link.channel, link.thread_ts
            ):
                continue
            message = tool_comment_message(comment, account.display_tool, link.ref, url)
            try:
                await client.chat_postMessage(channel=link.channel, thread_ts=link.thread_ts, **message)
                posted += 1
                await used(deps, link.integrated, link.ticket)
            except SlackApiError as exc:
                log.info("tool comment not posted in %s (%s)", link.channel, exc.response.get("error"))
    return posted


async def _post_tool_comment(
    deps: SlackDeps,
    client: AsyncWebClient,
    account: Account,
    ticket: str,
    comment: dict[str, Any],
    not_before: float | None,
) -> None:
    """A comment event: posted in the ticket's synced threads, told to the channels subscribed
    to comments and to the people it concerns; once the bot's own write of it is surely marked
    (the event of a comment the bot just wrote may arrive before the write's answer), and never
    for a comment the bot wrote (it came from Slack, where it was seen)."""
    if not_before is not None and (wait := not_before - time.time()) > 0:
        await asyncio.sleep(min(wait, deps.config.settings.webhook_coalesce_seconds))
    links = await threads_of(deps, account.integrated_account_id, ticket)
    if links:
        await post_in_threads(deps, client, account, links, [comment])
    comment_id, text = _comment_id(comment), comment_text(comment)
    store = store_of(deps)
    if (
        comment_id is None
        or not text
        or await store.ours(account.integrated_account_id, ticket, comment_id, text)
    ):
        return
    subscribed = await subscribers.has_subscriptions(deps, account.integrated_account_id)
    notifying = await notify_people.anyone(deps)
    if not (subscribed or notifying):
        return
    found = await deps.service.recent_ticket(account, TicketRef(ticket))
    said = (author_name(comment), text)
    if subscribed:
        await subscribers.tell_comment(deps, client, account, found, comment_id, said)
    if notifying:
        given = comment.get("author")
        author: dict[str, Any] = given if isinstance(given, dict) else {}
        await notify_people.notify_comment(deps, client, account, found, comment_id, said, author)


async def read_new_comments(deps: SlackDeps, client: AsyncWebClient, account: Account, ticket: str) -> int:
    """Where the tool sends no comment events: the ticket changed, so its comments are read (one
    call, in the bulk share of the account's API budget) and the new ones posted."""
    links = await threads_of(deps, account.integrated_account_id, ticket)
    if not links:
        return 0
    bulk = BULK.set(True)
    try:
        comments = await recent_comments(deps.service, account, ticket)
    finally:
        BULK.reset(bulk)
    return await post_in_threads(deps, client, account, links, comments)


async def poll_due(deps: SlackDeps, workspace: Workspace, now: float | None = None) -> int:
    """Every active synced ticket of a tool never heard sending comment events, not read for
    POLL_EVERY: its comments read (one call, bulk share) and the new ones posted. How many
    tickets were read."""
    now = now or time.time()
    active = ActiveTickets(deps.core.cache.backend)
    read = 0
    for tenant, integrated, ticket in await active.due(now, POLL_EVERY, ACTIVE_FOR):
        await active.was_read(tenant, integrated, ticket, now)
        made = await workspace(tenant or None)
        if made is None:
            continue
        there, client = made
        account = next(
            (a for a in there.config.accounts.values() if a.integrated_account_id == integrated), None
        )
        if account is None or await store_of(there).comment_events_heard(integrated):
            continue  # the account is gone, or its comments arrive as events
        await read_new_comments(there, client, account, ticket)
        read += 1
    return read


async def clock(deps: SlackDeps, workspace: Workspace, tick: float = TICK_SECONDS) -> None:
    """Until cancelled: the active synced tickets' comments, read when due."""
    while True:
        try:
            await poll_due(deps, workspace)
        except Exception:  # the next tick tries again
            log.warning("synced threads' comments could not be read this time", exc_info=True)
        await asyncio.sleep(tick)
