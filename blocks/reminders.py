"""A morning reminder: the tickets assigned to you that are due soon or overdue, in one DM."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from blocks.home import MyTicket, my_ticket_section
from blocks.text import escape

HOW_TO_STOP = "You get this each morning because you asked for it; `/ticket remind off` stops it."


def reminder_message(tool: str, tickets: Sequence[MyTicket]) -> tuple[str, list[dict[str, Any]]]:
    count = f"{len(tickets)} ticket{'s' if len(tickets) != 1 else ''}"
    head = f"*{count}* assigned to you in {escape(tool)} due within two days or overdue"
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": head}}]
    blocks += [my_ticket_section(t) for t in tickets]
    blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": HOW_TO_STOP}]})
    return f"{count} due soon or overdue in {tool}", blocks
