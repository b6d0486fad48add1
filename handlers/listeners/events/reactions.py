"""Emoji reactions: a `reaction_added` with an emoji the channel's account maps to an update
(`reactions: {white_check_mark: "status=done"}`) on a message that links one ticket applies that
update as the reacting user: the same grammar, checks and durable job as `/ticket update`, once
(Slack's event retries and the same reaction again apply nothing twice), the card privately to
the reactor with Undo. Reactions nobody configured do nothing."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.errors import UserInputError
from handlers.kit import texts
from handlers.kit.deps import SlackDeps, idempotency_key
from handlers.kit.job_data import JobData
from handlers.kit.job_queue import enqueue
from handlers.kit.surface import ack_only, guarded
from handlers.listeners.shortcuts.update_ticket import known_prefixes, refs_in_message

log = logging.getLogger(__name__)


async def _message(client: AsyncWebClient, channel: str, ts: str) -> dict[str, Any] | None:
    """The message reacted to: from the channel's history, else (a reply in a thread, which the
    history does not list) from conversations.replies, whose answer is taken wherever in the
    thread it puts the message."""
    try:
        found = await client.conversations_history(channel=channel, latest=ts, inclusive=True, limit=1)
        messages = found.get("messages") or []
        if not (messages and messages[0].get("ts") == ts):
            found = await client.conversations_replies(
                channel=channel, ts=ts, latest=ts, inclusive=True, limit=2
            )
            messages = found.get("messages") or []
    except SlackApiError as exc:  # a channel the bot cannot read: nothing to go on
        log.info("reaction in %s: message not readable (%s)", channel, exc.response.get("error"))
        return None
    return next((m for m in messages if m.get("ts") == ts), None)


@guarded
async def reacted(body: dict[str, Any], client: AsyncWebClient, deps: SlackDeps) -> None:
    event = body.get("event") or {}
    item = event.get("item") or {}
    channel, ts, user = str(item.get("channel") or ""), str(item.get("ts") or ""), event.get("user")
    account = deps.config.account_for_channel(channel)
    words = account.reactions.get(str(event.get("reaction"))) if account is not None else None
    if account is None or words is None or item.get("type") != "message" or not user:
        return  # not a reaction anyone configured here
    message = await _message(client, channel, ts)
    if message is None:
        return
    refs = refs_in_message(message, account.link_patterns, await known_prefixes(deps, account))
    if not refs:
        return
    if len(refs) > 1:
        listed = ", ".join(r.id for r in refs[:10])
        said = (
            f"That message links {listed}: react on one ticket's card, or `/ticket update <ticket> {words}`."
        )
        await client.chat_postEphemeral(channel=channel, user=str(user), text=said)
        return
    ref = refs[0]
    key = idempotency_key(body.get("team_id"), user, channel, ts, event.get("reaction"))
    try:
        owner = deps.service.account_for_ref(ref, channel)
        job = JobData.to_run(
            owner,
            "reaction",
            f"update {ref.url or ref.id} {words}",
            ref.id,
            key=key,
            reply="post",
            channel=channel,
            user=str(user),
            team=body.get("team_id"),
        )
        await enqueue(deps, job, dedupe=key)
    except UserInputError as exc:
        await client.chat_postEphemeral(channel=channel, user=str(user), text=texts.refusal(str(exc)))


def register(app: AsyncApp) -> None:
    app.event("reaction_added")(ack=ack_only, lazy=[reacted])
