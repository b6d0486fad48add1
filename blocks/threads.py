"""What a synced thread says: who synced it (with Unsync), who stopped it, and each comment made
in the tool ("*Ana Lima* in Jira: …")."""

from __future__ import annotations

from typing import Any

from blocks import ids
from blocks.text import escape, html_to_text, safe_url, truncate
from bot.domain.sanitize import clean_text

Block = dict[str, Any]
COMMENT_LIMIT = 1500  # a longer comment is cut, with a link to the ticket for the rest


def _ticket(ref: str, url: str | None) -> str:
    link = safe_url(url)
    return f"<{link}|{escape(ref)}>" if link else escape(ref)


def synced_message(user: str, ref: str, url: str | None, tool: str, unsync_value: str) -> dict[str, Any]:
    text = (
        f"<@{user}> synced this thread with {_ticket(ref, url)}: replies here become comments in "
        f"{escape(tool)}, and comments made in {escape(tool)} appear here."
    )
    button = {
        "type": "button",
        "action_id": ids.UNSYNC_THREAD,
        "text": {"type": "plain_text", "text": "Unsync thread"},
        "value": unsync_value,
    }
    return {
        "text": f"This thread is synced with {escape(ref)}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "actions", "elements": [button]},
        ],
    }


def unsynced_message(user: str, ref: str, tool: str) -> dict[str, Any]:
    text = (
        f"<@{user}> stopped syncing this thread with {escape(ref)}: replies stay in Slack, and "
        f"{escape(tool)}'s comments are no longer posted here."
    )
    return {"text": text, "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]}


def comment_text(comment: dict[str, Any]) -> str:
    """A comment's text: `body`, else `html_body` as text."""
    body = comment.get("body")
    if isinstance(body, str) and body.strip():
        return clean_text(body, multiline=True).strip()
    html = comment.get("html_body")
    return html_to_text(html).strip() if isinstance(html, str) else ""


def author_name(comment: dict[str, Any]) -> str:
    author = comment.get("author")
    if isinstance(author, dict):
        for name in ("name", "email", "id"):
            value = author.get(name)
            if isinstance(value, str) and value.strip():
                return clean_text(value).strip()[:80]
    return "Someone"


def tool_comment_message(comment: dict[str, Any], tool: str, ref: str, url: str | None) -> dict[str, Any]:
    """ "*Ana Lima* in Jira: <the comment>", escaped, cut at COMMENT_LIMIT with a link for more."""
    text = comment_text(comment)
    link = safe_url(url)
    if len(text) > COMMENT_LIMIT:
        more = f" <{link}|(more in {escape(tool)})>" if link else f" (more in {escape(tool)})"
        shown = escape(truncate(text, COMMENT_LIMIT)) + more
    else:
        shown = escape(text)
    who = escape(author_name(comment))
    line = f"*{who}* in {escape(tool)}: {shown}"
    return {
        "text": f"{who} in {escape(tool)} on {escape(ref)}: {escape(truncate(text, 200))}",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": truncate(line, 3000)}}],
        "unfurl_links": False,
    }
