"""Block Kit as plain text, roughly as Slack draws it: for the README's pictures of the
card, the compact line and the Home tab (screenshots are not possible here)."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping, Sequence
from typing import Any

_LINK = re.compile(r"<(https?://[^|>]+)\|([^>]+)>")
_MENTION = re.compile(r"<@(\w+)>")
_CHANNEL = re.compile(r"<#(\w+)>")
WIDTH = 92
_DATE = re.compile(r"<!date\^\d+\^[^|>]*\|([^>]+)>")


def _mrkdwn(text: str, names: Mapping[str, str]) -> str:
    text = _LINK.sub(r"\2", text)
    text = _DATE.sub(r"\1", text)
    text = _MENTION.sub(lambda m: "@" + names.get(m.group(1), m.group(1)), text)
    text = _CHANNEL.sub(lambda m: "#" + names.get(m.group(1), m.group(1)), text)
    text = text.replace("*", "").replace("`", "")
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def _element(element: Mapping[str, Any]) -> str:
    if element["type"] == "button":
        return f"[{element['text']['text']}]"
    chosen = element.get("initial_option")
    label = chosen["text"]["text"] if chosen else element.get("placeholder", {}).get("text", "")
    return f"[{label} ▾]"


def as_text(blocks: Sequence[Mapping[str, Any]], names: Mapping[str, str] = {}) -> str:
    """`names`: user and channel ids as people see them (U0ANA → ana)."""
    lines: list[str] = []
    for block in blocks:
        kind = block["type"]
        if kind == "header":
            lines.append(block["text"]["text"].upper())
        elif kind == "section":
            text = _mrkdwn(block["text"]["text"], names)
            if "accessory" in block:
                text += "   " + _element(block["accessory"])
            lines.extend(text.split("\n"))
            pairs = [_mrkdwn(f["text"], names).split("\n", 1) for f in block.get("fields", [])]
            for left, right in zip(pairs[::2], [*pairs[1::2], None], strict=False):
                cell = f"{left[0]}: {left[1]}"
                lines.append(f"{cell:<34}{right[0]}: {right[1]}" if right else cell)
        elif kind == "context":
            lines.append(" · ".join(_mrkdwn(e.get("text", ""), names) for e in block["elements"]))
        elif kind == "actions":
            lines.append(" ".join(_element(e) for e in block["elements"]))
        elif kind == "divider":
            lines.append("─" * 40)
    wrapped = [textwrap.fill(line, WIDTH) if len(line) > WIDTH else line.rstrip() for line in lines]
    return "\n".join(wrapped)
