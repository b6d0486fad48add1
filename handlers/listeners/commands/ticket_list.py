"""`/ticket list <filter>` (or `find`): the channel's tool's tickets that match, answered to the
one who asked, ten a page, last updated first, each with "Show card" (its card, with the card's
quick actions, privately). The filter is resolved as an update's values are (a mistake is
answered the same way, nothing read); the tickets are read through the reader's own connection
where they have one, so a list never shows what they may not read in the tool. What was found
is kept ten minutes for its page turns (which read nothing again), per person: another
person's click on a page turn finds nothing.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids
from blocks.ticket_list import PER_PAGE, Listing, Row, list_message, pages_of, update_all_view
from bot.domain.actors import Actor
from bot.domain.commands import UpdateCommand
from bot.domain.errors import ParseError, ResolveError, UserInputError
from bot.domain.models import Ticket
from bot.domain.ticket_search import ListRequest, TicketFilter, is_closed
from bot.service.search import find_tickets
from handlers.kit import texts
from handlers.kit.deps import SlackDeps, deps_of, idempotency_key
from handlers.kit.identity import acting_account
from handlers.kit.job_data import JobData
from handlers.kit.job_queue import enqueue_bulk_plan
from handlers.kit.payloads import dig, first_action, private_metadata, text_at, user_of, view_input
from handlers.kit.signed_values import ListPage
from handlers.kit.surface import ack_only, guarded
from handlers.listeners.commands.subscriptions import resolve_clause, user_value

GONE = "This list is more than 10 minutes old; run `/ticket list` again for a fresh one."


def _shown(request: ListRequest, conditions: list[Any]) -> str:
    words = [c.shown() for c in conditions]
    if request.created_by:
        words.append("created_by=" + ",".join(request.created_by))
    for name, span in request.dates.items():
        word = "updated" if name == "updated_at" else "due"
        if span.start == span.end and span.start is not None:
            words.append(f"{word}={span.start}")
            continue
        if span.start is not None:
            words.append(f"{word}>={span.start}")
        if span.end is not None:
            words.append(f"{word}<={span.end}")
    if request.overdue:
        words.append("overdue")
    if request.text:
        words.append(f'"{request.text}"')
    return " ".join(words)


def _row(deps: SlackDeps, account_name: str, ticket: Ticket, today: date) -> dict[str, Any]:
    due = ticket.display("due_date")
    overdue = bool(ticket.due_date and ticket.due_date[:10] < today.isoformat()) and not is_closed(ticket)
    return {
        "id": ticket.id,
        "ref": ticket.display_ref,
        "url": ticket.web_url,
        "title": ticket.name or "",
        "status": ticket.display("status"),
        "priority": ticket.display("priority"),
        "assignee": ticket.display("assignees"),
        "due": due,
        "overdue": overdue,
        "account": account_name,
    }


async def list_tickets(
    deps: SlackDeps, respond: AsyncRespond, body: dict[str, Any], request: ListRequest
) -> None:
    channel, user = body.get("channel_id"), str(body.get("user_id") or "")
    account = deps.service.account_for(channel)
    actor = Actor(slack_user_id=user or None, name=body.get("user_name"))
    conditions = [await resolve_clause(deps, account, clause, actor) for clause in request.clauses]
    creators: frozenset[str] | None = None
    if request.created_by:
        found: set[str] = set()
        for value in request.created_by:
            try:
                ref = await deps.service.resolver.user(account, user_value(value), actor)
            except ResolveError as exc:
                raise UserInputError(f"created_by={value}: {exc.message}") from None
            found |= {v.casefold() for v in (ref.id, ref.name) if v}
        creators = frozenset(found)
    wanted = TicketFilter(tuple(conditions), creators, dict(request.dates), request.overdue, request.text)
    today = datetime.now(UTC).date()
    reader = await acting_account(deps, account, user or None, reading=True)
    found_tickets = await find_tickets(deps.service, reader, wanted, today)
    kept = {
        "channel": channel,
        "tool": account.display_tool,
        "filter": _shown(request, conditions),
        "looked_at": found_tickets.looked_at,
        "cut": found_tickets.cut,
        "partial": found_tickets.partial,
        "rows": [_row(deps, account.name, t, today) for t in found_tickets.tickets],
    }
    token = await deps.kept_lists.keep(user, kept)
    await respond(response_type="ephemeral", replace_original=False, **_page(deps, kept, token, 0))


def _page(deps: SlackDeps, kept: dict[str, Any], token: str, page: int) -> dict[str, Any]:
    rows = kept["rows"]
    page = min(page, pages_of(len(rows)) - 1)
    shown = []
    for row in rows[page * PER_PAGE : (page + 1) * PER_PAGE]:
        account = deps.config.account(row["account"])
        value = deps.ticket_value(account, row["id"]) if account is not None else ""
        fields = {
            k: row[k] for k in ("ref", "url", "title", "status", "priority", "assignee", "due", "overdue")
        }
        shown.append(Row(**fields, show_value=value))
    listing = Listing(
        kept["tool"], kept["filter"], len(rows), kept["looked_at"], kept["cut"], kept["partial"]
    )
    previous = ListPage(token=token, page=page - 1).sign(deps.signer) if page > 0 else None
    following = (
        ListPage(token=token, page=page + 1).sign(deps.signer) if page + 1 < pages_of(len(rows)) else None
    )
    everyone = (
        None
        if deps.config.read_only(kept.get("channel"))
        else ListPage(token=token, page=0).sign(deps.signer)
    )
    most = deps.config.settings.bulk_max_tickets
    return list_message(listing, shown, page, previous, following, everyone, most)


@guarded
async def update_all_clicked(
    body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    """The fields to set on the list's tickets, in a form (its submission: a bulk update)."""
    deps = deps_of(context)
    asked = ListPage.verify(deps.signer, first_action(body).get("value"))
    if asked is None:
        raise UserInputError(texts.FORGED_BUTTON)
    kept = await deps.kept_lists.kept(user_of(body) or "", asked.token)
    if kept is None:
        await respond(response_type="ephemeral", replace_original=False, text=GONE)
        return
    metadata = deps.signer.sign({"all": asked.token})
    view = update_all_view(metadata, len(kept["rows"]), kept["tool"])
    await client.views_open(trigger_id=body["trigger_id"], view=view)


async def ack_update_all(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
    """The fields checked with the tickets as one bulk `/ticket update` (a mistake is said on the
    form), then its plan queued before the form closes: a preview, then one job a ticket."""
    deps = deps_of(context)
    user = body.get("user") or {}
    signed = deps.signer.verify(private_metadata(body)) or {}
    token = str(signed.get("all") or "")
    kept = await deps.kept_lists.kept(str(user.get("id") or ""), token) if token else None
    if kept is None or not kept.get("rows"):
        expired = "This list has expired; run /ticket list again."
        await ack(response_action="errors", errors={ids.LIST_UPDATE_FIELDS: expired})
        return
    fields = text_at(view_input(body, ids.LIST_UPDATE_FIELDS, ids.SETTINGS_VALUE), "value").strip()
    channel = kept.get("channel")
    account = deps.config.account(kept["rows"][0]["account"])
    refs = " ".join(row["ref"] for row in kept["rows"])
    text = f"update {refs} {fields}"
    try:
        command = deps.service.parse(text, channel, account=account)
        if not isinstance(command, UpdateCommand) or account is None:
            raise UserInputError("write the fields to set, e.g. status=done priority=high")
    except (ParseError, UserInputError) as exc:
        said = str(exc).replace(refs, f"the {len(kept['rows'])} tickets")
        await ack(response_action="errors", errors={ids.LIST_UPDATE_FIELDS: said[:150]})
        return
    key = idempotency_key(user.get("team_id"), user.get("id"), dig(body, "view", "id"))
    job = JobData.to_run(
        account,
        "bulk",
        text,
        command.ref.id,
        key=key,
        channel=channel,
        user=user.get("id"),
        user_name=user.get("username"),
        team=user.get("team_id"),
    )
    try:
        await enqueue_bulk_plan(deps, job, dedupe=key, tickets=len(command.refs))
    except UserInputError as exc:
        await ack(response_action="errors", errors={ids.LIST_UPDATE_FIELDS: str(exc)[:150]})
        return
    await ack()


@guarded
async def page_turned(
    body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    deps = deps_of(context)
    turn = ListPage.verify(deps.signer, first_action(body).get("value"))
    if turn is None:
        raise UserInputError("This button is not valid any more (it may be from an old or altered message).")
    kept = await deps.kept_lists.kept(user_of(body) or "", turn.token)
    if kept is None:  # expired, or a button of someone else's list
        await respond(response_type="ephemeral", replace_original=False, text=GONE)
        return
    await respond(
        response_type="ephemeral", replace_original=True, **_page(deps, kept, turn.token, turn.page)
    )


def register(app: AsyncApp) -> None:
    app.action(re.compile(f"^{re.escape(ids.LIST_PAGE)}:"))(ack=ack_only, lazy=[page_turned])
    app.action(ids.LIST_UPDATE_ALL)(ack=ack_only, lazy=[update_all_clicked])
    app.view(ids.LIST_UPDATE_VIEW)(ack_update_all)
