"""A comment on a ticket (`/ticket comment PROJ-42 "Deployed the fix"`): checked as an update is
(who may, from which channel), refused before any call where the tool takes no comments through
the unified API, Slack mentions written as the tool's users, one POST under the request's
Idempotency-Key (its retries and the job's redeliveries create one comment)."""

from __future__ import annotations

import re

from bot.domain.accounts import Account
from bot.domain.actors import Actor
from bot.domain.commands import UserValue
from bot.domain.errors import Refused, ResolveError
from bot.domain.models import JsonDict, Ticket
from bot.domain.refs import TicketRef
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
    shape = (
        await service.discovery.comment_shape(account) if service.discovery is not None else CommentShape()
    )
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
