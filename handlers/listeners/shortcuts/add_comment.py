"""The message shortcut "Add as comment": the message's text (with who wrote it and its link)
in a form to edit, the ticket it links filled in; sent as `/ticket comment` is (a durable job, one
comment under retries), refused on the form where the tool takes no comments."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids
from blocks.messages import comment_view
from bot.domain.actors import Actor
from bot.domain.errors import RefError, UserInputError
from bot.domain.refs import parse_ref
from bot.service.comments import COMMENTING_TOOLS
from handlers.kit.deps import SlackDeps, idempotency_key
from handlers.kit.job_data import JobData
from handlers.kit.job_queue import enqueue
from handlers.kit.payloads import dig, private_metadata, text_at, user_of, view_input
from handlers.kit.surface import ack_only, guarded
from handlers.listeners.shortcuts.update_ticket import known_prefixes, refs_in_message


@guarded
async def comment_shortcut_used(body: dict[str, Any], client: AsyncWebClient, deps: SlackDeps) -> None:
    channel = text_at(body, "channel", "id")
    user = user_of(body) or ""
    account = deps.service.account_for(channel)
    await deps.service.check_may_update(account, Actor(slack_user_id=user), channel, ask_the_tool=False)
    message = body.get("message") or {}
    refs = refs_in_message(message, account.link_patterns, await known_prefixes(deps, account))
    link = None
    try:
        answer = await client.chat_getPermalink(channel=channel, message_ts=str(message.get("ts")))
        link = answer.get("permalink")
    except SlackApiError:
        pass
    author = f"<@{message['user']}>" if message.get("user") else "someone"
    text = f"{message.get('text') or ''}\n\n— {author} in Slack" + (f": {link}" if link else "")
    metadata = deps.signer.sign({"comment": channel})
    ticket = refs[0].url or refs[0].id if refs else ""
    await client.views_open(
        trigger_id=body["trigger_id"], view=comment_view(metadata, ticket, text.strip(), account.display_tool)
    )


def _value(body: dict[str, Any], block: str) -> str:
    return text_at(view_input(body, block, ids.SETTINGS_VALUE), "value").strip()


async def ack_comment_form(ack: AsyncAck, body: dict[str, Any], deps: SlackDeps) -> None:
    """Checked on the form (the ticket as typed, the text, whether the tool takes comments),
    then written as the comment's durable job before the form closes."""
    signed = deps.signer.verify(private_metadata(body)) or {}
    channel = signed.get("comment")
    if not isinstance(channel, str):
        await ack(
            response_action="errors",
            errors={ids.COMMENT_TEXT: "This form has expired; run the shortcut again."},
        )
        return
    user = body.get("user") or {}
    text = _value(body, ids.COMMENT_TEXT)
    try:
        ref = parse_ref(_value(body, ids.COMMENT_TICKET), deps.service.account_for(channel).link_patterns)
    except (RefError, UserInputError) as exc:
        await ack(response_action="errors", errors={ids.COMMENT_TICKET: str(exc)[:150]})
        return
    if not text:
        await ack(response_action="errors", errors={ids.COMMENT_TEXT: "Write the comment."})
        return
    account = deps.service.account_for_ref(ref, channel)
    abilities = await deps.service.abilities(account)
    if abilities.can_comment is False:
        said = f"{account.display_tool} takes no comments through the unified API; {COMMENTING_TOOLS} do."
        await ack(response_action="errors", errors={ids.COMMENT_TICKET: said[:150]})
        return
    key = idempotency_key(user.get("team_id"), user.get("id"), dig(body, "view", "id"))
    job = JobData.for_account(
        account,
        kind="comment",
        surface="form",
        ticket=ref.id,
        text=text,
        key=key,
        reply="post",
        channel=channel,
        user=user.get("id"),
        user_name=user.get("username"),
        team=user.get("team_id"),
    )
    await enqueue(deps, job, dedupe=key)
    await ack()


def register(app: AsyncApp) -> None:
    app.message_shortcut(ids.COMMENT_SHORTCUT)(ack=ack_only, lazy=[comment_shortcut_used])
    app.view(ids.COMMENT_VIEW)(ack_comment_form)
