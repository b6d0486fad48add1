"""Channel subscriptions in Slack: the line a change posts, and the channel's list."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from blocks import ids
from blocks.text import escape, truncate
from bot.domain.models import Ticket

Block = dict[str, Any]


@dataclass(frozen=True)
class ChangeLine:
    ref: str  # PROJ-42
    url: str | None
    title: str
    event: str  # created, updated, closed, deleted
    changes: Sequence[tuple[str, str, str]]  # (label, before, after)
    tool: str
    by: str | None = None  # a Slack user id when the change was made through the bot
    current: Sequence[tuple[str, str]] = ()  # (label, value) when what changed is not known
    comment: tuple[str, str] | None = None  # a new comment: (author, its text)

    @classmethod
    def commented(cls, ticket: Ticket, tool: str, said: tuple[str, str]) -> ChangeLine:
        """The line of a new comment (`said`: its author and its text) on `ticket`."""
        return cls(
            ref=ticket.display_ref,
            url=ticket.web_url,
            title=ticket.name or "",
            event="commented",
            changes=(),
            tool=tool,
            comment=said,
        )


def _link(line: ChangeLine) -> str:
    ref = escape(line.ref)
    return f"<{line.url}|{ref}>" if line.url and line.url.startswith("http") else ref


def change_line(line: ChangeLine, sync_value: str | None = None) -> tuple[str, list[Block]]:
    """One compact line: what changed, from → to, by whom, where; "Sync thread" in its overflow
    menu when `sync_value` (signed) is given. (text, blocks)"""
    what = {
        "created": "created",
        "closed": "closed",
        "deleted": "deleted",
    }.get(line.event, "")
    parts = [f"{escape(label)} {escape(before)} → {escape(after)}" for label, before, after in line.changes]
    if not parts and line.current and line.event != "deleted":
        parts = [f"{escape(label)} {escape(value)}" for label, value in line.current]
    where = f"by <@{line.by}> from Slack" if line.by else f"in {escape(line.tool)}"
    said = ", ".join(parts)
    if line.comment is not None:
        author, words = line.comment
        said = f"{escape(author)} commented “{escape(truncate(' '.join(words.split()), 200))}”"
    head = f"*{_link(line)}* {escape(truncate(line.title, 120))}" if line.title else f"*{_link(line)}*"
    verb = f" {what}" if what else ""
    text = f"{head}{verb}{': ' + said if said else ''} · {where}"
    changed = ", ".join(f"{escape(lb)} {escape(b)} → {escape(a)}" for lb, b, a in line.changes)
    if line.comment is not None:
        changed = said
    plain = f"{escape(line.ref)}{verb}: {changed}".rstrip(": ")  # notifications read it as mrkdwn too
    section: Block = {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}}
    if sync_value and len(sync_value) <= 150:  # an option's value holds 150 characters
        section["accessory"] = {
            "type": "overflow",
            "action_id": ids.SYNC_THREAD_MENU,
            "options": [{"text": {"type": "plain_text", "text": "Sync thread"}, "value": sync_value}],
        }
    return plain, [section]


@dataclass(frozen=True)
class Listed:
    number: int
    filter: str
    tool: str
    by: str | None
    at: float


def subscriptions_list(listed: Sequence[Listed], limit: int) -> tuple[str, list[Block]]:
    if not listed:
        text = (
            "This channel has no subscriptions. `/ticket subscribe priority=P0,P1` tells it of "
            "every change to such a ticket; `/ticket subscribe help` shows the filters."
        )
        return "No subscriptions", [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    rows = []
    for item in listed:
        when = datetime.fromtimestamp(item.at, UTC).strftime("%Y-%m-%d") if item.at else ""
        who = f" by <@{item.by}>" if item.by else ""
        rows.append(f"{item.number}. `{escape(item.filter)}` in {escape(item.tool)}{who} {when}".rstrip())
    head = f"*This channel's subscriptions* ({len(listed)} of {limit})"
    foot = "`/ticket unsubscribe 2` removes the second."
    body = truncate("\n".join([head, *rows, foot]), 3000)
    return f"{len(listed)} subscriptions", [{"type": "section", "text": {"type": "mrkdwn", "text": body}}]


def digest_message(lines: Sequence[str], filter_shown: str) -> tuple[str, list[Block]]:
    """A digest: the tickets that matched since the last one, a line each (mrkdwn as collected)."""
    head = f"*{len(lines)} tickets matched `{escape(filter_shown)}` since the last digest*"
    shown = list(lines[:40])
    more = f"\n…and {len(lines) - len(shown)} more" if len(lines) > len(shown) else ""
    body = truncate("\n".join([head, *(f"• {line}" for line in shown)]) + more, 3000)
    return f"{len(lines)} tickets matched since the last digest", [
        {"type": "section", "text": {"type": "mrkdwn", "text": body}}
    ]


def _plain(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def _option(value: str, text: str) -> dict[str, Any]:
    return {"text": _plain(text), "value": value}


def subscribe_view(metadata: str, tool: str, pick_channel: bool = False) -> dict[str, Any]:
    """`/ticket subscribe` alone: the filter and its options in a form (from the Home tab, with
    the channel to subscribe)."""
    events = [_option(e, e.capitalize()) for e in ("created", "updated", "closed", "deleted")]
    commented = _option("commented", "Commented")  # offered, not chosen unless asked for
    threads = [
        _option("on", "Later changes in the first line's thread"),
        _option("off", "One line per ticket, kept up to date"),
        _option("broadcast", "In the thread and the channel"),
    ]
    blocks: list[Block] = [
        {
            "type": "input",
            "block_id": ids.SUB_FILTER,
            "optional": True,
            "label": _plain(f"Which {tool} tickets"),
            "element": {
                "type": "plain_text_input",
                "action_id": ids.SETTINGS_VALUE,
                "placeholder": _plain("priority=P0,P1 -tags=dependabot changed=status"),
            },
            "hint": _plain(
                "field=value words: status, priority, type, tags, team, collection, assignee (me, "
                "@someone, none), cf.<field>; -field= excludes; changed=status fires only when it moved. "
                "Empty: every ticket."
            ),
        },
        {
            "type": "input",
            "block_id": ids.SUB_EVENTS,
            "label": _plain("When"),
            "element": {
                "type": "multi_static_select",
                "action_id": ids.SETTINGS_VALUE,
                "options": [*events, commented],
                "initial_options": events,
            },
        },
        {
            "type": "input",
            "block_id": ids.SUB_THREAD,
            "label": _plain("Later changes of a ticket"),
            "element": {
                "type": "static_select",
                "action_id": ids.SETTINGS_VALUE,
                "options": threads,
                "initial_option": threads[0],
            },
        },
        {
            "type": "input",
            "block_id": ids.SUB_DIGEST,
            "optional": True,
            "label": _plain("Or one digest a day, at"),
            "element": {"type": "timepicker", "action_id": ids.SETTINGS_VALUE},
            "hint": _plain("Empty: a line per change. The time is yours (your Slack profile's time zone)."),
        },
    ]
    if pick_channel:
        blocks.insert(
            0,
            {
                "type": "input",
                "block_id": ids.SUB_CHANNEL,
                "label": _plain("Channel"),
                "element": {
                    "type": "conversations_select",
                    "action_id": ids.SETTINGS_VALUE,
                    "filter": {"include": ["public", "private"], "exclude_bot_users": True},
                },
            },
        )
    return {
        "type": "modal",
        "callback_id": ids.SUBSCRIBE_VIEW,
        "title": _plain("Subscribe this channel"),
        "submit": _plain("Subscribe"),
        "close": _plain("Cancel"),
        "blocks": blocks,
        "private_metadata": metadata,
    }
