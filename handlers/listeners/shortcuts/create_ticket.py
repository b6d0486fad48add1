"""The message shortcut "Create ticket": the create form prefilled from the message (its first
line as the title, its text as the description with who wrote it and a link back), on the
channel's tool. The new ticket's card goes in the message's thread (synced with it where the
tool's comments allow), and the message's author is told when someone else made it."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids
from bot.domain.slack_text import plain_from_slack
from handlers.kit.create_form import Prefill, open_create
from handlers.kit.deps import SlackDeps
from handlers.kit.payloads import text_at, user_of
from handlers.kit.surface import ack_only, guarded

TITLE_LIMIT = 255  # the grammar's (and most tools') limit of a title
DESCRIPTION_LIMIT = 3000  # a form's text input holds at most this much
_MENTION = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")


async def _names_written_out(deps: SlackDeps, text: str) -> str:
    """`<@U123>` as "@Ana Lima" (Slack's name for them): a tool does not read Slack's mentions."""
    directory = deps.core.slack_directory
    names: dict[str, str] = {}
    for user in dict.fromkeys(_MENTION.findall(text)):
        name = await directory.name_of(user) if directory is not None else None
        names[user] = f"@{name}" if name else "@someone"
    return _MENTION.sub(lambda m: names.get(m.group(1), "@someone"), text)


def title_of(text: str) -> str:
    """The message's first non-empty line, cut at a word within the title limit."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    if len(first) <= TITLE_LIMIT:
        return first
    cut = first[: TITLE_LIMIT - 1].rsplit(" ", 1)[0]
    return f"{cut}…"


@guarded
async def create_shortcut_used(body: dict[str, Any], client: AsyncWebClient, deps: SlackDeps) -> None:
    channel = text_at(body, "channel", "id") or None
    user = user_of(body) or ""
    account = deps.service.account_for(channel)
    message = body.get("message") or {}
    ts = str(message.get("ts") or "")
    written_by = message.get("user")
    author = written_by if isinstance(written_by, str) and _USER_ID.match(written_by) else None
    text = await _names_written_out(deps, plain_from_slack(str(message.get("text") or "")))
    link = None
    try:
        answer = await client.chat_getPermalink(channel=channel or "", message_ts=ts)
        link = answer.get("permalink")
    except SlackApiError:
        pass
    writer = "someone"
    directory = deps.core.slack_directory
    if author and directory is not None:
        writer = await directory.name_of(author) or "someone"
    footer = f"\n\n— {writer} in Slack" + (f": {link}" if link else "")
    description = text[: DESCRIPTION_LIMIT - len(footer)] + footer
    # Ids from the payload are shown as Slack's mentions only when they are ids.
    whose = f"<@{author}>'s message" if author else "a message"
    where = f" in <#{channel}>" if channel and _CHANNEL_ID.match(channel) else ""
    prefill = Prefill(
        title=title_of(text),
        description=description.strip(),
        note=f":speech_balloon: From {whose}{where}",
        thread=str(message.get("thread_ts") or ts) or None,
        author=author,
    )
    await open_create(deps, client, body["trigger_id"], account, channel, user, prefill)


def register(app: AsyncApp) -> None:
    app.message_shortcut(ids.CREATE_SHORTCUT)(ack=ack_only, lazy=[create_shortcut_used])
