"""The ticket card: header, fields, description excerpt, who changed what, and actions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from blocks import ids
from blocks.text import escape, html_to_text, safe_url, summarise, truncate
from bot.domain.models import EMPTY, Change, Ticket
from bot.domain.sanitize import clean_text

Block = dict[str, Any]
DESCRIPTION_LIMIT = 600
FIELD_LIMIT = 300  # each card field stays short, well under Slack's 2000
STATUS_OPTIONS_LIMIT = 100


@dataclass(frozen=True)
class CardOptions:
    tool: str
    action_value: str  # identifies account and ticket for the buttons (signed by the caller)
    url: str | None = None  # the ticket's URL, or the account's template applied
    statuses: Sequence[Mapping[str, Any]] = ()
    changes: Sequence[Change] = ()
    actor_id: str | None = None
    changed_at: datetime | None = None
    shareable: bool = False  # an ephemeral card offers "Share in channel"
    interactive: bool = True  # unfurls are compact and have no buttons
    can_update: bool = True  # False: the tool cannot update tickets, so only "Open in …" is offered
    undo_value: str | None = None  # a card posted after an update offers Undo (signed by the caller)
    undo_deletes: bool = False  # …after a create: Undo deletes the new ticket
    updated_in: str | None = None  # a live card brought up to date: where the change was made…
    updated_at: datetime | None = None  # …and when
    said: str = ""  # a live card's record of the change it was posted for, kept as it was said
    since: Sequence[str] = ()  # the followed fields that changed since it was posted ("priority P0")
    can_sync: bool = False  # posted in a channel, on a tool whose comments can follow a thread
    extra: Mapping[str, Any] = field(default_factory=dict)


def _plain(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": truncate(clean_text(text), limit) or " ", "emoji": True}


UNFURL_FIELDS = ("Status", "Assignees", "Priority")


def _fields(ticket: Ticket, only: Sequence[str] = ()) -> list[dict[str, str]]:
    """Only the fields the ticket has, in a fixed order (at most 10, Slack's limit); `only`
    narrows them (an unfurl shows status, assignees and priority)."""

    def names(values: Sequence[Any] | None) -> str:
        return summarise([escape(v.label) for v in values or []], FIELD_LIMIT) or EMPTY

    rows = [
        ("Status", escape(ticket.display("status"))),
        ("Priority", escape(ticket.display("priority"))),
        ("Assignees", names(ticket.assignees)),
        ("Due date", escape(ticket.display("due_date"))),
        ("Tags", names(ticket.tags)),
        ("Team", escape(ticket.display("team"))),
        ("Type", escape(ticket.display("ticket_type"))),
        ("Workspace", escape(ticket.display("workspace"))),
        ("Collections", names(ticket.collections)),
    ]
    return [
        {"type": "mrkdwn", "text": f"*{label}*\n{truncate(value, FIELD_LIMIT)}"}
        for label, value in rows
        if value != EMPTY and (not only or label in only)
    ][:10]


def description_excerpt(ticket: Ticket, limit: int = DESCRIPTION_LIMIT) -> str:
    raw = ticket.description or (html_to_text(ticket.html_description) if ticket.html_description else "")
    return truncate(raw.strip(), limit)


def _title_line(ticket: Ticket, url: str | None) -> str:
    ref = escape(ticket.display_ref)
    link = safe_url(url)
    return f"*<{link}|{ref}>*" if link else f"*{ref}*"


def changes_line(changes: Sequence[Change], actor_id: str | None, when: datetime | None) -> str:
    parts = [escape(str(c)) for c in changes]
    who = f"<@{actor_id}>" if actor_id and actor_id.isalnum() else "Someone"
    text = (
        f"{who} changed {summarise(parts, 2500, sep=', ')}"
        if parts
        else f"{who} saved with no visible change"
    )
    if when is not None:
        text += f" · {_stamp(when)}"
    return truncate(text, 3000)


def _stamp(when: datetime) -> str:
    """A date Slack shows in each reader's time zone (the fallback in UTC)."""
    fallback = when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(when.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def updated_line(where: str, when: datetime | None) -> str:
    """Under a live card's fields: "Updated <date> in Jira"."""
    return f"Updated {_stamp(when)} in {escape(where)}" if when is not None else f"Updated in {escape(where)}"


def _status_select(ticket: Ticket, statuses: Sequence[Mapping[str, Any]]) -> Block | None:
    if not statuses or len(statuses) > STATUS_OPTIONS_LIMIT:
        return None
    options = []
    current = None
    for status in statuses:
        status_id = str(status.get("id", ""))
        if not status_id or len(status_id) > 150:
            continue
        option = {"text": _plain(str(status.get("name") or status_id), 75), "value": status_id}
        options.append(option)
        if ticket.status_name and str(status.get("name", "")).lower() == ticket.status_name.lower():
            current = option
    if not options:
        return None
    select: Block = {
        "type": "static_select",
        "action_id": ids.STATUS_SELECT,
        "placeholder": _plain("Change status", 150),
        "options": options,
    }
    if current is not None:
        select["initial_option"] = current
    return select


def _actions(ticket: Ticket, options: CardOptions) -> Block:
    value = options.action_value
    elements: list[Block] = []
    if options.can_update:
        elements.append(
            {"type": "button", "action_id": ids.EDIT_BUTTON, "text": _plain("Edit", 75), "value": value}
        )
    link = safe_url(options.url)
    if link:
        elements.append(
            {
                "type": "button",
                "action_id": ids.OPEN_BUTTON,
                "text": _plain(f"Open in {options.tool}", 75),
                "url": link,
            }
        )
    block_id = ids.card_actions_block(value)
    if options.can_update:
        status = _status_select(ticket, options.statuses) if block_id else None
        if status is not None:
            elements.append(status)
        elements.append(
            {"type": "button", "action_id": ids.ASSIGN_ME, "text": _plain("Assign to me", 75), "value": value}
        )
    if options.undo_value and options.can_update:
        elements.append(_undo_button(options.undo_value, ticket if options.undo_deletes else None))
    if options.can_sync and not options.shareable:
        elements.append(sync_button(value))
    if options.shareable:
        elements.append(
            {
                "type": "button",
                "action_id": ids.SHARE,
                "text": _plain("Share in channel", 75),
                "value": value,
                "style": "primary",
            }
        )
    actions: Block = {"type": "actions", "elements": elements}
    if block_id:
        actions["block_id"] = block_id
    return actions


def ticket_card(ticket: Ticket, options: CardOptions) -> list[Block]:
    """The card for a ticket; within Block Kit limits for any ticket content."""
    name = ticket.name or ticket.display_ref
    blocks: list[Block] = [{"type": "header", "text": _plain(name, 150)}]
    section: Block = {"type": "section", "text": {"type": "mrkdwn", "text": _title_line(ticket, options.url)}}
    fields = _fields(ticket, () if options.interactive else UNFURL_FIELDS)
    if fields:
        section["fields"] = fields
    blocks.append(section)
    excerpt = description_excerpt(ticket) if options.interactive else ""  # unfurls are compact
    if excerpt:
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": escape(excerpt)}})
    record = said_line(ticket, options, compact=False)
    context = [record] if record else []
    if options.updated_in:
        line = updated_line(options.updated_in, options.updated_at)
        context.append(f"{line} · now {escape(', '.join(options.since))}" if options.since else line)
    if context:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": t} for t in context]})
    if options.interactive:
        actions = _actions(ticket, options)
        if actions["elements"]:
            blocks.append(actions)
    return blocks


def sync_button(value: str) -> Block:
    """ "Sync thread": replies in this message's thread become comments on the ticket, and the
    tool's comments appear in it."""
    return {"type": "button", "action_id": ids.SYNC_THREAD, "text": _plain("Sync thread", 75), "value": value}


def _undo_button(value: str, created: Ticket | None = None) -> Block:
    """Undo of an update; of a create (`created`): the new ticket deleted."""
    title, text = (
        "Undo this change?",
        (
            "Puts back the previous values of the fields it changed, unless "
            "someone changed them since. The card's thread keeps who did what."
        ),
    )
    if created is not None:
        title = "Delete this ticket?"
        text = f"Deletes {escape(created.display_ref)} in the tool, as if it had never been created."
    return {
        "type": "button",
        "action_id": ids.UNDO_CREATE if created is not None else ids.UNDO,
        "text": _plain("Undo", 75),
        "value": value,
        "confirm": {
            "title": _plain(title, 100),
            "text": {"type": "mrkdwn", "text": text},
            "confirm": _plain("Delete" if created is not None else "Undo", 30),
            "deny": _plain("Keep", 30),
        },
    }


def said_line(ticket: Ticket, options: CardOptions, *, compact: bool) -> str:
    """The record of the change a card was posted for: "@ana set PROJ-42 priority Medium →
    High · Open" (a compact line), "@ana changed priority Medium → High · <date>" (a card).
    Kept as it was said when the card is brought up to date later."""
    if options.said:
        return options.said
    if not (options.changes or options.actor_id):
        return ""
    if not compact:
        return changes_line(options.changes, options.actor_id, options.changed_at)
    who = f"<@{options.actor_id}>" if options.actor_id and options.actor_id.isalnum() else "Someone"
    parts = ", ".join(escape(str(c)) for c in options.changes)
    return f"{who} set {_named(ticket, options)} {parts or 'with no visible change'} · " + escape(
        ticket.display("status")
    )


def _named(ticket: Ticket, options: CardOptions) -> str:
    link = safe_url(options.url)
    ref = escape(ticket.display_ref)
    return f"<{link}|{ref}>" if link else ref


def _title_text(ticket: Ticket, options: CardOptions) -> str:
    title = escape(truncate(clean_text(ticket.name or ""), 150))
    return f"{_named(ticket, options)} {title} · {escape(ticket.display('status'))}"


def _now_line(options: CardOptions) -> str:
    """After a live update: "now Done, priority P0 · updated <time> in Jira" (the fields that
    changed since the card was posted, then where and when)."""
    line = updated_line(str(options.updated_in), options.updated_at)
    line = "u" + line[1:]  # mid-sentence
    if options.since:
        return f"now {escape(', '.join(options.since))} · {line}"
    return line


def compact_blocks(ticket: Ticket, options: CardOptions) -> list[Block]:
    """One line in the channel instead of the card: "@ana set PROJ-42 priority Medium → High ·
    Open", with the card one click away (and Undo while it can apply). A live update keeps that
    record and adds the ticket's state after it: "… · now Done · updated <time> in Jira"; a
    line that records no change reads "PROJ-42 Title · Done · updated <time> in Jira"."""
    text = said_line(ticket, options, compact=True) or _title_text(ticket, options)
    if options.updated_in:
        text += f" · {_now_line(options)}"
    elements: list[Block] = [
        {
            "type": "button",
            "action_id": ids.SHOW_CARD,
            "text": _plain("Show card", 75),
            "value": options.action_value,
        }
    ]
    if options.undo_value and options.can_update:
        elements.append(_undo_button(options.undo_value, ticket if options.undo_deletes else None))
    if options.can_sync:
        elements.append(sync_button(options.action_value))
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}},
        {"type": "actions", "elements": elements},
    ]


def card_text(ticket: Ticket, changes: Sequence[Change] = ()) -> str:
    """The message's fallback text (notifications, screen readers); escaped like mrkdwn."""
    head = f"{ticket.display_ref}: {ticket.name or ''}".strip().rstrip(":")
    if changes:
        head += " (" + ", ".join(f"{c.label} → {c.after}" for c in changes) + ")"
    return escape(truncate(head, 300))
