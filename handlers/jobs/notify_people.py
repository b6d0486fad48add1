"""Personal notifications, the worker's part: a DM to each person who turned them on and whom a
ticket's change or a new comment on it concerns (assigned, created by them, mentioned), never
about their own change or comment."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks.subscriptions import ChangeLine, change_line
from blocks.text import escape
from bot.domain.accounts import Account
from bot.domain.errors import ResolveError
from bot.domain.matching import item_name, user_emails
from bot.domain.models import Ticket
from bot.domain.subscriptions import CHANGE_LABELS, Event, changes_between, ticket_ids
from bot.store import keys
from bot.store.notifications import NotifyStore
from handlers.kit.deps import SlackDeps

log = logging.getLogger(__name__)


HOW_TO_STOP = "You get these because you turned them on; `/ticket notify off` stops them."


WATCHED = ("status", "priority")


def scope_of(deps: SlackDeps) -> str:
    return deps.tenant or "workspace"


def store_of(deps: SlackDeps, scope: str | None = None) -> NotifyStore:
    return NotifyStore(deps.core.cache.backend, scope or scope_of(deps))


async def anyone(deps: SlackDeps, scope: str | None = None) -> bool:
    return bool(await store_of(deps, scope).users())


async def _slack_users_by_email(deps: SlackDeps, users: list[str]) -> dict[str, str]:
    directory = deps.core.slack_directory
    found: dict[str, str] = {}
    for user in users:
        try:
            email = await directory.email_of(user) if directory is not None else None
        except Exception:  # a user Slack does not know any more: not told
            email = None
        if email:
            found[email.casefold()] = user
    return found


async def tool_users(deps: SlackDeps, account: Account, ids: set[str]) -> list[dict[str, Any]]:
    users = await deps.core.lookups.get(account, "users")
    items = []
    for user_id in ids:
        try:
            items.append(dict(users.index.resolve(user_id, ("user", "users"))))
        except ResolveError:
            continue
    return items


def _mentions(description: str, item: dict[str, Any]) -> bool:
    text = description.casefold()
    marks = [f"@{item_name(item)}", f"[~{item.get('id')}]", f"[~accountid:{item.get('id')}]"]
    if item.get("username"):
        marks.append(f"@{item['username']}")
    marks += user_emails(item)
    return any(mark.casefold() in text for mark in marks if len(mark) > 2)


async def notify_people(
    deps: SlackDeps,
    client: AsyncWebClient,
    account: Account,
    before: Ticket | None,
    ticket: Ticket,
    *,
    created: bool = False,
) -> None:
    """DM each person who turned notifications on and whom this change concerns. A new ticket
    (`created`, never seen before) is a change from nothing: whoever it is assigned to hears."""
    opted = await store_of(deps).users()
    if not opted or (before is None and not created):  # a first sight tells nothing about what changed
        return
    if before is None:
        before = Ticket(id=ticket.id)
    by_email = await _slack_users_by_email(deps, opted)
    changes = changes_between(before, ticket)
    if not changes:
        return
    origin = await deps.own_writes.origin(account.integrated_account_id, ticket)
    assigned_now = ticket_ids(ticket, "assignees")
    assigned_before = ticket_ids(before, "assignees")
    creator = {ticket.created_by.id} if ticket.created_by and ticket.created_by.id else set()
    new_text = ticket.description or ""
    candidates = assigned_now | creator
    mentioned: list[dict[str, Any]] = []
    if "description" in changes:
        users = await deps.core.lookups.get(account, "users")
        old_text = before.description or ""
        for item in users.items:
            known = any(e.casefold() in by_email for e in user_emails(item))
            if known and _mentions(new_text, dict(item)) and not _mentions(old_text, dict(item)):
                mentioned.append(dict(item))
    told: set[str] = set()
    for item in [*await tool_users(deps, account, candidates), *mentioned]:
        slack_user = next(
            (by_email[e.casefold()] for e in user_emails(item) if e.casefold() in by_email), None
        )
        if slack_user is None or slack_user in told or (origin and origin.get("user") == slack_user):
            continue
        ids = {str(item.get("id")).casefold(), item_name(item).casefold()}
        why = None
        if ids & assigned_now and not ids & assigned_before:
            why = "was assigned to you"
        elif item in mentioned:
            why = "mentions you"
        elif any(f in changes for f in WATCHED) and (
            ids & assigned_now or ids & {c.casefold() for c in creator}
        ):
            # What happened to it, and why it is yours: never "assigned to you" for a status change.
            why = "changed (assigned to you)" if ids & assigned_now else "changed (created by you)"
        if why is None:
            continue
        told.add(slack_user)
        by = str(origin["user"]) if origin and origin.get("user") else None
        await _dm(
            client, slack_user, account, ticket, changes, why, by, event="created" if created else "updated"
        )


async def _dm(
    client: AsyncWebClient,
    user: str,
    account: Account,
    ticket: Ticket,
    changes: dict[str, tuple[str, str]],
    why: str,
    by: str | None = None,
    *,
    event: Event = "updated",
) -> None:
    """`by`: the Slack person who made the change through the bot (else it was made in the tool)."""
    shown = {f: c for f, c in changes.items() if f in (*WATCHED, "assignees")} or changes
    line = ChangeLine(
        ref=ticket.display_ref,
        url=ticket.web_url,
        title=ticket.name or "",
        event=event,
        changes=[(CHANGE_LABELS[f], old, new) for f, (old, new) in shown.items()],
        tool=account.display_tool,
        by=by,
    )
    _, blocks = change_line(line)
    said = ", ".join(f"{label} {old} → {new}" for label, old, new in line.changes)
    blocks = [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"{escape(ticket.display_ref)} {why}"}]},
        *blocks,
        {"type": "context", "elements": [{"type": "mrkdwn", "text": HOW_TO_STOP}]},
    ]
    try:
        text = escape(f"{ticket.display_ref} {why}: {said}")  # the notification's own words, as mrkdwn
        await client.chat_postMessage(channel=user, text=text, blocks=blocks)
    except SlackApiError as exc:
        log.warning("a notification to %s was not sent (%s)", user, exc.response.get("error"))


def _is_author(item: dict[str, Any], author: dict[str, Any]) -> bool:
    """The comment's author is this tool user (by id, email or name)."""
    mine = {
        str(item.get("id") or "").casefold(),
        item_name(item).casefold(),
        *(e.casefold() for e in user_emails(item)),
    }
    theirs = {str(author.get(k) or "").casefold() for k in ("id", "name", "email")}
    return bool((mine & theirs) - {""})


async def notify_comment(
    deps: SlackDeps,
    client: AsyncWebClient,
    account: Account,
    ticket: Ticket,
    comment_id: str,
    said: tuple[str, str],
    author: dict[str, Any],
) -> None:
    """A new comment (`said`: its author's name and its text): a DM to each person who turned
    notifications on and whose ticket it is (assigned, created by them) or whom it mentions,
    never to its author, once per person and comment."""
    opted = await store_of(deps).users()
    if not opted:
        return
    by_email = await _slack_users_by_email(deps, opted)
    assigned = ticket_ids(ticket, "assignees")
    creator = {ticket.created_by.id} if ticket.created_by and ticket.created_by.id else set()
    users = await deps.core.lookups.get(account, "users")
    mentioned = [dict(i) for i in users.items if _mentions(said[1], dict(i))]
    told: set[str] = set()
    for item in [*await tool_users(deps, account, assigned | creator), *mentioned]:
        slack_user = next(
            (by_email[e.casefold()] for e in user_emails(item) if e.casefold() in by_email), None
        )
        if slack_user is None or slack_user in told or _is_author(item, author):
            continue
        ids = {str(item.get("id")).casefold(), item_name(item).casefold()}
        if item in mentioned:
            why = "has a comment that mentions you"
        elif ids & assigned:
            why = "has a new comment (assigned to you)"
        else:
            why = "has a new comment (created by you)"
        marker = keys.key(account.integrated_account_id, "comment-dm", comment_id, slack_user)
        if await deps.core.cache.backend.try_lock(marker, 7 * 86400.0) is None:
            continue  # told already (the job ran again)
        told.add(slack_user)
        await _dm_comment(client, slack_user, account, ticket, said, why)


async def _dm_comment(
    client: AsyncWebClient, user: str, account: Account, ticket: Ticket, said: tuple[str, str], why: str
) -> None:
    line = ChangeLine.commented(ticket, account.display_tool, said)
    text, blocks = change_line(line)
    blocks = [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": f"{escape(ticket.display_ref)} {why}"}]},
        *blocks,
        {"type": "context", "elements": [{"type": "mrkdwn", "text": HOW_TO_STOP}]},
    ]
    try:
        await client.chat_postMessage(
            channel=user, text=f"{escape(ticket.display_ref)} {why}: {text}", blocks=blocks
        )
    except SlackApiError as exc:
        log.warning("a notification to %s was not sent (%s)", user, exc.response.get("error"))
