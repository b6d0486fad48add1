"""Short messages: errors with an optional Retry button, help, and option lists."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping, Sequence
from typing import Any

from blocks import ids
from blocks.modal import option, plain
from blocks.text import escape, truncate
from bot.domain.models import Change, Ticket

Block = dict[str, Any]


_USER_MENTION = re.compile(r"&lt;@([UW][A-Z0-9]{2,})&gt;")


def with_mentions(message: str) -> str:
    """Escaped, but a user mention (`<@U0ABC>`) stays one: Slack shows the person's name, and
    a mention in an answer to one person notifies nobody."""
    return _USER_MENTION.sub(r"<@\1>", escape(message))


def error_blocks(message: str, retry_value: str | None = None, error_id: str | None = None) -> list[Block]:
    """`message` is plain text (escaped here)."""
    text = f":warning: {with_mentions(message)}"
    if error_id:
        text += f"\n_Error id: {escape(error_id)}_"
    blocks: list[Block] = [{"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}}]
    if retry_value:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": ids.RETRY,
                        "text": {"type": "plain_text", "text": "Retry"},
                        "value": retry_value,
                        "style": "primary",
                    }
                ],
            }
        )
    return blocks


def open_form_blocks(message: str, form_value: str) -> list[Block]:
    """A create that lacked required fields: what is missing (plain text, escaped here) and the
    form, prefilled with what was typed."""
    return [
        *error_blocks(message),
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": ids.CREATE_FORM_BUTTON,
                    "text": {"type": "plain_text", "text": "Open the form"},
                    "value": form_value,
                    "style": "primary",
                }
            ],
        },
    ]


def notice_blocks(message: str) -> list[Block]:
    """A plain note (no warning sign: nothing is wrong). `message` is plain text (escaped here)."""
    return [{"type": "section", "text": {"type": "mrkdwn", "text": truncate(with_mentions(message), 3000)}}]


def deleted_blocks(ticket_ref: str, tool: str) -> list[Block]:
    """What a live card becomes when its ticket is deleted: a line, no buttons."""
    text = f"{escape(ticket_ref)} was deleted in {escape(tool)}."
    return [{"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}}]


def preview_blocks(ticket_ref: str, changes: Sequence[Change], value: str, note: str = "") -> list[Block]:
    """Before → after of an update not sent yet, with Apply and Cancel."""
    lines = [f"*{escape(c.heading)}*: {escape(c.before)} → {escape(c.after)}" for c in changes] or [
        "(no visible change)"
    ]
    head = f"*Preview of {escape(ticket_ref)}*: nothing is sent until you apply it."
    if note:
        head = f"{escape(note)}\n{head}"
    buttons = [
        {
            "type": "button",
            "action_id": ids.PREVIEW_APPLY,
            "text": {"type": "plain_text", "text": "Apply"},
            "value": value,
            "style": "primary",
        },
        {
            "type": "button",
            "action_id": ids.PREVIEW_CANCEL,
            "text": {"type": "plain_text", "text": "Cancel"},
            "value": value,
        },
    ]
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": truncate(head, 3000)}},
        {"type": "section", "text": {"type": "mrkdwn", "text": truncate("\n".join(lines), 3000)}},
        {"type": "actions", "elements": buttons},
    ]


HELP_EXAMPLES = (
    ('update PROJ-42 status="In Progress" priority=high', "set fields"),
    ("PROJ-42 assignee=@ana tags+=backend due=friday", "assign, add a tag, set a due date"),
    ("PROJ-42 tags-=frontend due=none", "remove a tag, clear the due date"),
    ("update PROJ-1 PROJ-2 PROJ-10..PROJ-14 status=done", "many tickets at once (previewed above 3)"),
    ("show PROJ-42", "show the ticket (only to you)"),
    ("PROJ-42", "open the edit form"),
)


def tool_examples(
    prefix: str, statuses: Sequence[str], priorities: Sequence[str], changeable: Collection[str] | None = None
) -> list[tuple[str, str]]:
    """The help's examples in a channel's own terms: its key prefix, a real status and priority,
    and only fields its tool lets people change (`changeable`: body field names; None: all)."""
    status = statuses[min(1, len(statuses) - 1)] if statuses else "In Progress"
    quoted = f'"{status}"' if " " in status else status
    priority = priorities[0].lower() if priorities else "high"
    key = f"{prefix}-42"

    def can(name: str) -> bool:
        return changeable is None or name in changeable

    examples = []
    first = [f"status={quoted}" if can("status") else "", f"priority={priority}" if can("priority") else ""]
    if any(first):
        examples.append((f"update {key} {' '.join(p for p in first if p)}", "set fields"))
    everyday = [
        ("assignee=@ana", "assign", "assignees"),
        ("tags+=backend", "add a tag", "tags"),
        ('due="next friday"', "set a due date", "due_date"),
    ]
    shown = [(typed, said) for typed, said, name in everyday if can(name)]
    if shown:
        examples.append((f"{key} {' '.join(t for t, _ in shown)}", ", ".join(s for _, s in shown)))
    clearing = [("tags-=frontend", "remove a tag", "tags"), ("due=none", "clear the due date", "due_date")]
    shown = [(typed, said) for typed, said, name in clearing if can(name)]
    if shown:
        examples.append((f"{key} {' '.join(t for t, _ in shown)}", ", ".join(s for _, s in shown)))
    if can("status"):
        examples.append(
            (
                f"update {prefix}-1 {prefix}-2 {prefix}-10..{prefix}-14 status={quoted}",
                "many tickets at once (previewed above 3)",
            )
        )
    examples += [(f"show {key}", "show the ticket (only to you)"), (key, "open the edit form")]
    return examples


def help_blocks(
    tool: str | None,
    statuses: Sequence[str],
    priorities: Sequence[str],
    fields: Sequence[str] = (),
    custom: Sequence[str] = (),
    examples_here: Sequence[tuple[str, str]] = HELP_EXAMPLES,
    more_fields: Sequence[str] = (),
    *,
    threads: bool | None = None,
) -> list[Block]:
    """`fields`: what this channel's tool lets people change, by the names they type;
    `more_fields`: the rest of them (rarely set by hand); `threads`: whether the tool's comments
    can follow a thread (None: not known)."""
    examples = "\n".join(f"`/ticket {escape(cmd)}`  {desc}" for cmd, desc in examples_here)
    grammar = (
        "*Fields*: title, status, priority, assignee, due, tags, team, type, collections, description, "
        "parent, cf.<custom field> (the API's names work too: name, due_date, ticket_type, …)\n"
        "*Values*: quote values with spaces; `none` or nothing clears; commas separate list items; "
        "`+=` adds and `-=` removes (assignees, tags, collections)\n"
        "*Users*: @mention, `me`, an email or a name\n"
        '*Dates*: 2026-12-04, today, tomorrow, +3d, +2w, friday, "next friday", "in 3 days", "dec 4"\n'
        "*Tickets*: PROJ-42, 123, #123 or a ticket link; several (up to 50) before the first field: "
        "PROJ-1 PROJ-2, PROJ-1,PROJ-2 or PROJ-10..PROJ-14\n"
        "*Cards*: invite the bot (`/invite @ticketbot`) to post cards here as itself; such cards "
        "follow their ticket when it changes anywhere; *Sync thread* on a card makes its thread "
        "follow the ticket too (replies become comments, the tool's comments appear there)\n"
        '*New tickets*: `/ticket create "Checkout fails" type=Bug priority=high` (what the tool '
        "requires and is missing opens the form, prefilled); `/ticket create` alone: the form; "
        "*Create ticket* on a message: the form from its text, the card in its thread\n"
        "*Also*: `/ticket list assignee=me overdue` (find tickets: filter words, "
        '`updated>=monday`, `due<=friday`, "words in the title") · '
        '`/ticket comment PROJ-42 "Deployed the fix"` · `/ticket subscribe status=Done` '
        "(this channel hears of such changes) · `/ticket notify on` (DMs about your tickets) · "
        "`/ticket remind due` (each morning, your tickets due soon) · "
        "emoji reactions your admin set · in Workflow Builder, the steps *Update a ticket*, "
        "*Get a ticket* and *Create a ticket*"
    )
    blocks: list[Block] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"*Update tickets from Slack*\n{examples}"}},
        {"type": "section", "text": {"type": "mrkdwn", "text": grammar}},
    ]
    if tool:
        lines = [f"*This channel updates {escape(tool)}*"]
        if statuses:
            lines.append("Statuses: " + escape(", ".join(statuses)))
        if priorities:
            lines.append("Priorities: " + escape(", ".join(priorities)))
        if fields:
            lines.append("Fields it can change: " + escape(", ".join(fields)))
        if more_fields:
            lines.append("More: " + escape(", ".join(more_fields)))
        if custom:
            lines.append("Custom fields: " + escape(", ".join(f"cf.{name}" for name in custom)))
        if threads is False:
            lines.append(
                f"Threads: cannot sync with {escape(tool)} (its comments cannot be both created and "
                "listed through the unified API)"
            )
        elif threads:
            lines.append(
                f"Threads: *Sync thread* on a card keeps its thread and {escape(tool)}'s comments together"
            )
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": truncate("\n".join(lines), 3000)}]}
        )
    return blocks


def options_payload(items: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The answer to a block_suggestion: at most 100 options."""
    return {"options": [o for o in (option(i) for i in items) if o][:100]}


def connection_message(
    tool: str, problem: str | None, reconnect_url: str | None, example: str | None = None
) -> tuple[list[Block], str]:
    """The DM to the admin who connected a tool: connected (with `example`, a command in the
    tool's own key and values), or what went wrong with Reconnect."""
    if problem is None:
        tried = example or 'update PROJ-42 status="In Progress"'
        mine = "" if example else " (your project's key for PROJ)"
        text = f"{tool} is connected. Try it in any channel: /ticket {tried}{mine}."
        shown = (
            f"*{escape(tool)} is connected.* Try it in any channel: `/ticket {escape(tried)}`{escape(mine)}."
        )
        return [{"type": "section", "text": {"type": "mrkdwn", "text": shown}}], text
    text = f"{tool} {problem}. Reconnect it to keep updating tickets from Slack."
    blocks: list[Block] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": truncate(f":warning: {escape(text)}", 3000)}}
    ]
    if reconnect_url:
        blocks.append(
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": ids.RECONNECT_TRACKER,
                        "text": {"type": "plain_text", "text": "Reconnect"},
                        "url": reconnect_url,
                        "style": "primary",
                    }
                ],
            }
        )
    return blocks, text


def comment_message(ticket: Ticket, said: str, user: str | None, tool: str) -> dict[str, Any]:
    """A comment just added, as the channel sees it."""
    url = ticket.web_url
    ref = (
        f"<{url}|{escape(ticket.display_ref)}>"
        if url and url.startswith("http")
        else escape(ticket.display_ref)
    )
    who = f"<@{user}>" if user else "Someone"
    text = f"{who} commented on *{ref}* in {escape(tool)}: “{escape(said)}”"
    plain = f"commented on {escape(ticket.display_ref)}: {escape(said)}"  # notifications read it too
    return {
        "text": plain,
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}}],
    }


def comment_view(metadata: str, ticket: str, text: str, tool: str) -> dict[str, Any]:
    """The message shortcut "Add as comment": the ticket and the text, to edit before sending."""

    def plain(words: str) -> dict[str, Any]:
        return {"type": "plain_text", "text": words}

    ticket_input: dict[str, Any] = {"type": "plain_text_input", "action_id": ids.SETTINGS_VALUE}
    if ticket:
        ticket_input["initial_value"] = ticket
    return {
        "type": "modal",
        "callback_id": ids.COMMENT_VIEW,
        "title": plain("Add as comment"),
        "submit": plain("Add comment"),
        "close": plain("Cancel"),
        "private_metadata": metadata,
        "blocks": [
            {
                "type": "input",
                "block_id": ids.COMMENT_TICKET,
                "label": plain(f"{tool} ticket"),
                "element": ticket_input,
                "hint": plain("A key (PROJ-42) or the ticket's link."),
            },
            {
                "type": "input",
                "block_id": ids.COMMENT_TEXT,
                "label": plain("Comment"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.SETTINGS_VALUE,
                    "multiline": True,
                    "max_length": 3000,
                    "initial_value": text[:3000],
                },
            },
        ],
    }


def connect_blocks(text: str, label: str, url: str) -> list[Block]:
    """A private answer with one button that opens a connect page."""
    button = {"type": "button", "text": plain(label, 75), "url": url, "style": "primary"}
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": truncate(escape(text), 3000)}},
        {"type": "actions", "elements": [button]},
    ]
