"""A `/ticket list` answer: the tickets found, ten a page, each with "Show card" (the card, with
its quick actions, to the one who asked), and the page turns."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from blocks import ids
from blocks.text import escape, safe_url, truncate
from bot.domain.models import EMPTY

Block = dict[str, Any]
PER_PAGE = 10


@dataclass(frozen=True)
class Row:
    """One ticket as the list shows it."""

    ref: str
    url: str | None
    title: str
    status: str
    priority: str
    assignee: str
    due: str
    overdue: bool
    show_value: str  # the signed value of its Show card button


@dataclass(frozen=True)
class Listing:
    tool: str
    filter_shown: str
    total: int
    looked_at: int
    cut: bool
    partial: bool


def _line(row: Row) -> str:
    link = safe_url(row.url)
    ref = f"<{link}|{escape(row.ref)}>" if link else escape(row.ref)
    facts = [row.status, row.priority, row.assignee]
    if row.due and row.due != EMPTY:
        facts.append(f"due {row.due}" + (" (overdue)" if row.overdue else ""))
    shown = " · ".join(escape(f) for f in facts if f and f != EMPTY)
    return (
        f"*{ref}* {escape(truncate(row.title, 150))}\n{shown}"
        if shown
        else f"*{ref}* {escape(truncate(row.title, 150))}"
    )


def pages_of(total: int) -> int:
    return max(1, -(-total // PER_PAGE))


def list_message(
    listing: Listing,
    rows: Sequence[Row],
    page: int,
    previous: str | None,
    following: str | None,
    update_all: str | None = None,
    most_at_once: int = 0,
) -> dict[str, Any]:
    """`rows`: this page's; `previous`, `following`: the page turns' signed values (None: none);
    `update_all`: the signed value of "Update all N" (None where the list may not be updated),
    offered up to `most_at_once` tickets."""
    where = f" matching `{escape(listing.filter_shown)}`" if listing.filter_shown else ""
    count = f"{listing.total} ticket{'s' if listing.total != 1 else ''}"
    head = f"*{count}* in {escape(listing.tool)}{where}, last updated first"
    notes = []
    if listing.cut:
        notes.append(
            f"{listing.looked_at} tickets were looked at, the most one list reads: narrow the filter to "
            "see the rest"
        )
    if listing.partial:
        notes.append(f"{escape(listing.tool)} said its list may be incomplete")
    blocks: list[Block] = [{"type": "section", "text": {"type": "mrkdwn", "text": head}}]
    if notes:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": "; ".join(notes) + "."}]})
    for row in rows:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": truncate(_line(row), 3000)},
                "accessory": {
                    "type": "button",
                    "action_id": ids.SHOW_CARD,
                    "text": {"type": "plain_text", "text": "Show card"},
                    "value": row.show_value,
                },
            }
        )
    turns: list[Block] = []
    if previous is not None:
        turns.append(_turn("Previous page", previous))
    if following is not None:
        turns.append(_turn("Next page", following))
    if update_all is not None and 0 < listing.total <= most_at_once:
        label = f"Update all {listing.total}"
        turns.append(
            {
                "type": "button",
                "action_id": ids.LIST_UPDATE_ALL,
                "text": {"type": "plain_text", "text": label},
                "value": update_all,
            }
        )
    elif update_all is not None and listing.total > most_at_once:
        blocks.append(
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"Narrow the filter to {most_at_once} tickets or fewer to update them "
                        "all at once.",
                    }
                ],
            }
        )
    if turns:
        blocks.append({"type": "actions", "elements": turns})
    if listing.total > PER_PAGE:
        pages = pages_of(listing.total)
        blocks.append(
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Page {page + 1} of {pages}"}]}
        )
    if not rows:
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": "No ticket matches; `/ticket list` alone lists them all."},
            }
        )
    return {"text": f"{count} in {listing.tool}", "blocks": blocks}


def _turn(label: str, value: str) -> Block:
    # Two buttons of one block need two action ids: both start with LIST_PAGE, routed by it.
    return {
        "type": "button",
        "action_id": f"{ids.LIST_PAGE}:{label.split()[0].lower()}",
        "text": {"type": "plain_text", "text": label},
        "value": value,
    }


def update_all_view(metadata: str, total: int, tool: str) -> dict[str, Any]:
    """The fields to set on every ticket of a list (then the bulk update's preview)."""
    return {
        "type": "modal",
        "callback_id": ids.LIST_UPDATE_VIEW,
        "private_metadata": metadata,
        "title": {"type": "plain_text", "text": "Update all"},
        "submit": {"type": "plain_text", "text": "Preview"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": ids.LIST_UPDATE_FIELDS,
                "label": {"type": "plain_text", "text": f"Set on {total} {tool} tickets"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": ids.SETTINGS_VALUE,
                    "placeholder": {
                        "type": "plain_text",
                        "text": 'status="In Progress" priority=high tags+=backend',
                    },
                },
                "hint": {
                    "type": "plain_text",
                    "text": "The update grammar's field=value words; a preview comes first.",
                },
            }
        ],
    }
