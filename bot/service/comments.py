"""A comment on a ticket (`/ticket comment PROJ-42 "Deployed the fix"`): checked as an update is
(who may, from which channel), refused before any call where the tool takes no comments through
the unified API, Slack mentions written as the tool's users, one POST under the request's
Idempotency-Key (its retries and the job's redeliveries create one comment)."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

from bot.domain.accounts import Account
from bot.domain.actors import Actor
from bot.domain.commands import UserValue
from bot.domain.errors import Refused, ResolveError
from bot.domain.models import JsonDict, Ticket
from bot.domain.refs import TicketRef
from bot.domain.slack_text import plain_from_slack
from bot.service.tickets import TicketService
from bot.truto.discovery import CommentShape

_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
# Truto's "Create Comments" lists these among the integrations that support it.
COMMENTING_TOOLS = "Jira, Wrike, Zoho Projects, Help Scout, Gorgias and others"  # "… do", "… work in"
MAX_COMMENT = 3000


async def _with_tool_names(service: TicketService, account: Account, text: str, actor: Actor) -> str:
    """`<@U…>` as the person's name in the tool (by email), else their Slack name."""
    out, last = [], 0
    for found in _MENTION.finditer(text):
        out.append(text[last : found.start()])
        slack_id, label = found.group(1), found.group(2)
        try:
            ref = await service.resolver.user(account, UserValue("slack", label or slack_id, slack_id), actor)
            out.append(f"@{ref.name or label or slack_id}")
        except ResolveError:
            out.append(f"@{label or slack_id}")
        last = found.end()
    out.append(text[last:])
    return "".join(out)


async def add_comment(
    service: TicketService,
    account: Account,
    ref: TicketRef,
    text: str,
    actor: Actor,
    channel: str | None,
    *,
    idempotency_key: str,
) -> tuple[Ticket, str]:
    """The ticket and the text as sent. Refused (nothing sent) where the tool cannot take it."""
    await service.check_may_update(account, actor, channel)
    abilities = await service.abilities(account)
    if abilities.can_comment is False:
        raise Refused(
            f"{account.display_tool} does not take comments through the unified API "
            f"(comments work in {COMMENTING_TOOLS})"
        )
    ticket = await service.recent_ticket(account, ref)
    said = (await _with_tool_names(service, account, text, actor))[:MAX_COMMENT]
    shape = await _shape(service, account)
    await service.client.create_comment(
        account,
        ticket.id,
        said,
        idempotency_key=idempotency_key,
        ticket_param=shape.ticket_param,
        author=await _author(service, account, actor, shape),
    )
    return ticket, said


async def _author(
    service: TicketService, account: Account, actor: Actor, shape: CommentShape
) -> JsonDict | None:
    """The person as the tool's user (matched by their Slack email), where the tool takes an
    author; None where it does not, or the person is not one of its users."""
    if not shape.author or not actor.slack_user_id:
        return None
    try:
        user = await service.resolver.user(
            account, UserValue("slack", actor.slack_user_id, actor.slack_user_id), actor
        )
    except ResolveError:
        return None
    if not user.id:
        return None
    return {"id": user.id, "type": "user"} if shape.author_type else {"id": user.id}


class TooLong(Refused):
    """A reply longer than a comment may be: nothing is sent."""


async def post_reply(
    service: TicketService,
    account: Account,
    ticket_id: str,
    text: str,
    actor: Actor,
    channel: str | None,
    *,
    idempotency_key: str,
    said_by: str | None,
    before_sending: Callable[[str], Awaitable[None]] | None = None,
) -> tuple[str | None, str]:
    """A reply in a synced thread as a comment: the created comment's id (None where the tool
    did not say) and the text as sent. `said_by`: the person's name to write before the text
    when the account is not their own ("Ana Lima (in Slack): …")."""
    await service.check_may_update(account, actor, channel)
    said = await _with_tool_names(service, account, plain_from_slack(text), actor)
    if said_by:
        said = f"{said_by} (in Slack): {said}"
    if len(said) > MAX_COMMENT:
        raise TooLong(
            f"That reply is {len(said):,} characters; a comment in {account.display_tool} takes at most "
            f"{MAX_COMMENT:,} here, so it was not added (shorten it, or split it in two)"
        )
    if not said.strip():
        raise Refused("That reply has no text to add as a comment")
    shape = await _shape(service, account)
    if before_sending is not None:
        await before_sending(said)
    created = await service.client.create_comment(
        account,
        ticket_id,
        said,
        idempotency_key=idempotency_key,
        ticket_param=shape.ticket_param,
        author=await _author(service, account, actor, shape) if not said_by else None,
    )
    comment_id = created.get("id")
    return (str(comment_id) if isinstance(comment_id, str | int) and str(comment_id) else None), said


async def edit_reply(
    service: TicketService,
    account: Account,
    ticket_id: str,
    comment_id: str,
    text: str,
    actor: Actor,
    *,
    idempotency_key: str,
    said_by: str | None,
    before_sending: Callable[[str], Awaitable[None]] | None = None,
) -> str:
    said = await _with_tool_names(service, account, plain_from_slack(text), actor)
    if said_by:
        said = f"{said_by} (in Slack): {said}"
    if len(said) > MAX_COMMENT:
        raise TooLong(
            f"That edit makes the reply {len(said):,} characters; a comment in {account.display_tool} "
            f"takes at most {MAX_COMMENT:,}, so the comment was left as it was"
        )
    shape = await _shape(service, account)
    if before_sending is not None:
        await before_sending(said)
    await service.client.update_comment(
        account, comment_id, ticket_id, said, idempotency_key=idempotency_key, ticket_param=shape.ticket_param
    )
    return said


async def recent_comments(service: TicketService, account: Account, ticket_id: str) -> list[JsonDict]:
    """The ticket's comments in one call, oldest first (by `created_at`, where the tool gives
    it: the API's own order is not documented for every integration)."""
    shape = await _shape(service, account)
    found = await service.client.list_comments(account, ticket_id, ticket_param=shape.ticket_param)
    return sorted(found, key=lambda c: str(c.get("created_at") or ""))


async def _shape(service: TicketService, account: Account) -> CommentShape:
    if service.discovery is None:
        return CommentShape()
    return await service.discovery.comment_shape(account)
