"""A bulk update's messages: its preview, its progress, and its one summary in the channel."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from blocks import ids
from blocks.text import escape, safe_url, truncate
from bot.domain.batch import Batch, BatchItem

Block = dict[str, Any]
SECTION = 2900  # characters per section, under Slack's 3000
PER_SECTION = 12  # ticket lines per section


def _button(action_id: str, text: str, value: str, style: str | None = None) -> Block:
    button: Block = {"type": "button", "action_id": action_id, "text": {"type": "plain_text", "text": text}}
    button["value"] = value
    if style:
        button["style"] = style
    return button


def _sections(lines: Sequence[str]) -> list[Block]:
    """Lines in as few sections as fit (at most 50 blocks in all is kept by the caller)."""
    blocks = []
    for start in range(0, len(lines), PER_SECTION):
        text = truncate("\n".join(lines[start : start + PER_SECTION]), SECTION)
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    return blocks


def _link(item: BatchItem) -> str:
    url = safe_url(item.url)
    return f"<{url}|{escape(item.ref)}>" if url else escape(item.ref)


def _change_text(changes: Sequence[tuple[str, str, str]]) -> str:
    return ", ".join(f"{escape(f)} {escape(b)} → {escape(a)}" for f, b, a in changes)


def fields_line(items: Sequence[BatchItem]) -> str:
    """What the batch sets, once: "status → Done, priority → High"."""
    seen: dict[str, str] = {}
    for item in items:
        for field, _, after in item.changes:
            seen.setdefault(field, after)
    return ", ".join(f"{escape(f)} → {escape(a)}" for f, a in seen.items())


def bulk_preview_blocks(items: Sequence[BatchItem], value: str, note: str = "") -> list[Block]:
    """One line per ticket, before → after, then Apply / Cancel."""
    changing = [i for i in items if i.changes]
    unchanged = [i for i in items if not i.changes]
    # It counts what it lists: every ticket, and how many of them change.
    counted = f"{len(items)} tickets*, {len(changing)} to change" if unchanged else f"{len(items)} tickets*"
    head = f"*Preview of {counted}: nothing is sent until you apply it."
    if note:
        head = f"{escape(note)}\n{head}"
    lines = [f"*{_link(i)}* {_change_text(i.changes)}" for i in changing]
    if unchanged:
        lines.append("Nothing to change on " + ", ".join(_link(i) for i in unchanged))
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": head}},
        *_sections(lines),
        {
            "type": "actions",
            "elements": [
                _button(ids.PREVIEW_APPLY, f"Apply to {len(changing)} tickets", value, "primary"),
                _button(ids.PREVIEW_CANCEL, "Cancel", value),
            ],
        },
    ]


def progress_text(batch: Batch) -> str:
    verb = "Undoing" if batch.verb == "undo" else "Updating"
    total = len([i for i in batch.items if i.state != "skipped"])
    done = batch.count("done")
    text = f"{verb} {total} tickets… {done} done"
    if batch.count("failed"):
        text += f", {batch.count('failed')} failed"
    return text


def progress_blocks(batch: Batch) -> list[Block]:
    return [{"type": "section", "text": {"type": "mrkdwn", "text": escape(progress_text(batch))}}]


def summary_text(batch: Batch) -> str:
    who = f"<@{batch.user}>" if batch.user and batch.user.isalnum() else "Someone"
    done = [i for i in batch.items if i.state == "done"]
    if batch.verb == "undo":
        return f"{who} undid a bulk update on {len(done)} tickets"
    return f"{who} updated {len(done)} tickets: {fields_line(done) or 'no change'}"


def summary_blocks(
    batch: Batch, undo_value: str | None = None, retry_value: str | None = None
) -> list[Block]:
    """The batch's one message once every ticket ended: done (linked), failed (with each cause
    and a Retry for those only), skipped; Undo for the whole batch."""
    done = [i for i in batch.items if i.state == "done"]
    failed = [i for i in batch.items if i.state == "failed"]
    skipped = [i for i in batch.items if i.state == "skipped"]
    blocks: list[Block] = [{"type": "section", "text": {"type": "mrkdwn", "text": summary_text(batch)}}]
    if done:
        blocks += _sections(["Done: " + ", ".join(_link(i) for i in done)])
    if failed:
        # Seen by the whole channel: each cause short (the tool's words were redacted already).
        blocks += _sections([f"Failed: {_link(i)}: {escape(truncate(i.cause, 160))}" for i in failed])
    if skipped:
        lines = [f"Skipped: {_link(i)}: {escape(i.cause or 'nothing to change')}" for i in skipped]
        blocks += _sections(lines)
    buttons = []
    if retry_value and failed:
        buttons.append(_button(ids.BULK_RETRY, f"Retry {len(failed)} failed", retry_value, "primary"))
    if undo_value and done:
        undo = _button(ids.BULK_UNDO, "Undo", undo_value)
        undo["confirm"] = {
            "title": {"type": "plain_text", "text": "Undo this bulk update?"},
            "text": {
                "type": "mrkdwn",
                "text": f"Puts back the previous values on {len(done)} tickets, except on tickets "
                "changed by someone since.",
            },
            "confirm": {"type": "plain_text", "text": "Undo"},
            "deny": {"type": "plain_text", "text": "Keep"},
        }
        buttons.append(undo)
    if buttons:
        blocks.append({"type": "actions", "elements": buttons})
    return blocks[:50]
