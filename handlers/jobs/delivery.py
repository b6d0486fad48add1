"""Telling the user how a job went: the card (in the channel, in place of the one clicked, or to
them alone), the Undo it offers, and private answers."""

from __future__ import annotations

import dataclasses
import logging
import time
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks.card import said_line
from blocks.text import escape
from bot.domain.cards import Card
from bot.domain.models import TicketUpdate
from bot.service.updates import UpdateResult
from handlers.jobs import notify_people, subscribers, ticket_changed
from handlers.kit.card_view import card_options, channel_card, rendered
from handlers.kit.deps import SlackDeps
from handlers.kit.job_data import JobData
from handlers.kit.my_tickets import KEPT_AS as MY_TICKETS
from handlers.kit.surface import NOT_A_MEMBER, answer_privately, private_answer, to_response_url

log = logging.getLogger(__name__)


async def tell_job_asker(
    client: AsyncWebClient,
    data: JobData,
    message: str,
    *,
    retry: str | None = None,
    error_id: str | None = None,
    notice: bool = False,
) -> None:
    answer = private_answer(message, notice=notice, retry_value=retry, error_id=error_id)
    await answer_privately(
        client, answer, response_url=data.response_url, channel=data.channel, user=data.user
    )


async def _offer_undo(deps: SlackDeps, data: JobData, result: UpdateResult) -> str | None:
    """Keep what Undo needs (for UNDO_MINUTES); returns the signed button value."""
    body = result.undo_body()
    if not body or deps.config.settings.undo_minutes <= 0:
        return None
    record = {
        "account": result.account.name,
        "ticket": result.ticket.id,
        "body": TicketUpdate(**body).to_body(),
        "expect": result.undo_expect(),
        "targets": [list(t) for t in result.targets],
        "channel": data.channel,
        "user": data.user,
        "user_name": data.user_name,
    }
    return await deps.undos.put(record, ttl=deps.config.settings.undo_minutes * 60)


async def note_written(deps: SlackDeps, data: JobData, result: UpdateResult) -> None:
    """An update through the bot: its webhook echo is known as ours (the card is not refreshed
    twice), and subscribed channels hear it by its author, from the state it changed."""
    await deps.own_writes.note(result.account.integrated_account_id, result.ticket, data.channel, data.user)
    await subscribers.note_own_update(deps, result.account, result.before, await notify_people.anyone(deps))


async def deliver_card(deps: SlackDeps, client: AsyncWebClient, data: JobData, result: UpdateResult) -> None:
    style = channel_card(deps, result.account)
    replacing = data.reply == "replace" and data.response_url
    # The channel sees the account's style; a card clicked is replaced by a card (an Undo
    # clicked on a compact line, by a compact line).
    compact = style == "compact" and (not replacing or data.surface == "undo")
    undo_value = await _offer_undo(deps, data, result)
    options = await card_options(
        deps,
        result.account,
        result.ticket,
        changes=result.changes,
        actor_id=data.user,
        shareable=data.ephemeral or (style == "none" and not replacing),
        undo_value=undo_value,
        compact=compact,
        channel=data.channel,
    )
    if result.via.startswith("as themselves"):  # made through the person's own account: say so
        said = said_line(result.ticket, options, compact=compact)
        options = dataclasses.replace(options, said=f"{said} · {escape(result.via)}")
    card = rendered(result.ticket, options, compact=compact)
    await note_written(deps, data, result)
    if data.user:  # their Home tab's "My tickets" is read again when next opened
        await deps.kept_lists.forget(data.user, MY_TICKETS)
    kept: Card | None = None
    if data.reply == "replace" and data.response_url:
        await to_response_url(data.response_url, {"replace_original": True, **card})
        if data.message_ts and data.channel and not data.ephemeral:
            kept = ticket_changed.posted(data.channel, data.message_ts, compact=compact)
        else:
            kept = ticket_changed.through_response_url(data.response_url, compact=compact)
    elif style == "none" or data.surface == "reaction":
        await _to_the_user_alone(client, data, card)  # the channel sees nothing (a reaction: told privately)
    elif data.reply == "in_channel" and data.response_url:
        # Posted as the bot where it is a member: such a card can be kept up to date for as long
        # as it exists; elsewhere through the response_url (which works for 30 minutes).
        kept = await _post_as_bot(client, data, card, compact)
        if kept is None:
            await to_response_url(
                data.response_url, {"response_type": "in_channel", "replace_original": False, **card}
            )
            kept = ticket_changed.through_response_url(data.response_url, compact=compact)
    else:
        # The channel the form came from; without one, a direct message to the user.
        kept = await _post_card(client, data, card, compact)
    if kept is not None:
        record: dict[str, Any] = {
            "channel": kept.channel or data.channel,
            "shareable": options.shareable,
            "said": said_line(result.ticket, options, compact=compact),
        }
        if undo_value is not None:
            record |= {
                "undo_value": undo_value,
                "undo_until": time.time() + deps.config.settings.undo_minutes * 60,
            }
        await ticket_changed.remember(deps, result.account, result.ticket, kept.model_copy(update=record))
    if data.surface == "undo":
        await _undo_in_thread(client, data, result)
    if data.retried_from:
        await to_response_url(data.retried_from, {"delete_original": True})


async def _to_the_user_alone(client: AsyncWebClient, data: JobData, card: dict[str, Any]) -> None:
    if data.response_url:
        await to_response_url(
            data.response_url, {"response_type": "ephemeral", "replace_original": False, **card}
        )
    elif data.channel and data.user:
        await client.chat_postEphemeral(channel=data.channel, user=data.user, **card)
    elif data.user:
        await client.chat_postMessage(channel=data.user, **card)


async def _undo_in_thread(client: AsyncWebClient, data: JobData, result: UpdateResult) -> None:
    """An Undo rewrites the card; the card's thread keeps who changed what."""
    if not (data.channel and data.message_ts and not data.ephemeral and data.user):
        return
    whose = f"<@{data.undo_of}>'s" if data.undo_of and data.undo_of != data.user else "their own"
    what = ", ".join(str(c) for c in result.changes) or "no visible change"
    # Ticket text (titles, values) is shown, never obeyed: escaped, so it cannot ping or link.
    text = f"<@{data.user}> undid {whose} change on {escape(result.ticket.display_ref)}: {escape(what)}."
    try:
        await client.chat_postMessage(channel=data.channel, thread_ts=data.message_ts, text=text)
    except SlackApiError as exc:
        log.info("the undo could not be told in the card's thread (%s)", exc.response.get("error"))


async def _post_as_bot(
    client: AsyncWebClient, data: JobData, card: dict[str, Any], compact: bool
) -> Card | None:
    """The card posted in the job's channel as the bot; None where the bot may not post."""
    if not data.channel:
        return None
    try:
        answer = await client.chat_postMessage(channel=data.channel, **card)
    except SlackApiError as exc:
        if exc.response.get("error") not in NOT_A_MEMBER:
            raise
        return None
    return ticket_changed.posted(
        str(answer.get("channel") or data.channel), answer.get("ts"), compact=compact
    )


async def _post_card(
    client: AsyncWebClient, data: JobData, card: dict[str, Any], compact: bool
) -> Card | None:
    """Post the card; where the bot may not post (it was never invited), show it to the user
    alone, saying how to have cards posted there: the change was made, and nobody is left unaware.
    Returns the posted card (None for an ephemeral one)."""
    try:
        answer = await client.chat_postMessage(channel=str(data.channel or data.user), **card)
        return ticket_changed.posted(
            str(answer.get("channel") or data.channel), answer.get("ts"), compact=compact
        )
    except SlackApiError as exc:
        if exc.response.get("error") not in NOT_A_MEMBER or not data.user:
            raise
    await card_to_asker_alone(client, data, card, "Updated")
    return None


async def card_to_asker_alone(client: AsyncWebClient, data: JobData, card: dict[str, Any], done: str) -> None:
    """Where the bot may not post: the card to the asker alone (ephemerally, else a DM), saying
    how to have cards posted there; `done` says what happened ("Updated", "Created")."""
    hint = {
        "type": "context",
        "elements": [
            {
                "type": "mrkdwn",
                "text": f"{done}. Only you can see this card: invite the bot to this channel "
                "(`/invite @ticketbot`) to have cards posted here.",
            }
        ],
    }
    blocks = [*card["blocks"][:49], hint]
    if data.channel and data.user:
        try:
            await client.chat_postEphemeral(
                channel=data.channel, user=data.user, text=card["text"], blocks=blocks
            )
            return
        except SlackApiError as exc:
            if exc.response.get("error") not in NOT_A_MEMBER:
                raise
    if data.user:
        await client.chat_postMessage(channel=data.user, text=card["text"], blocks=blocks)  # a direct message
