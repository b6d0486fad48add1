"""Block Kit limits (Slack's published table), checked on top of slack_sdk.models validation."""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

TEXT_LIMIT = 3000


def _walk(node: Any, problems: list[str], path: str) -> None:
    if isinstance(node, dict):
        kind = node.get("type")
        if kind in ("plain_text", "mrkdwn") and len(node.get("text", "")) > TEXT_LIMIT:
            problems.append(f"{path}: text over {TEXT_LIMIT}")
        for key in ("block_id", "action_id"):
            if key in node and len(node[key]) > 255:
                problems.append(f"{path}.{key}: over 255")
        if kind == "header" and len(node["text"]["text"]) > 150:
            problems.append(f"{path}: header over 150")
        if kind == "section" and node.get("fields"):
            if len(node["fields"]) > 10:
                problems.append(f"{path}: more than 10 fields")
            problems.extend(f"{path}: field over 2000" for f in node["fields"] if len(f["text"]) > 2000)
        if kind == "actions" and len(node["elements"]) > 25:
            problems.append(f"{path}: more than 25 elements")
        if kind == "button" and (
            len(node["text"]["text"]) > 75
            or len(node.get("value", "")) > 2000
            or len(node.get("url", "")) > 3000
        ):
            problems.append(f"{path}: button over its limits")
        if "options" in node and isinstance(node["options"], list):
            if len(node["options"]) > 100:
                problems.append(f"{path}: more than 100 options")
            for option in node["options"]:
                if len(option["text"]["text"]) > 75 or len(option["value"]) > 150:
                    problems.append(f"{path}: option over its limits")
        if "placeholder" in node and len(node["placeholder"]["text"]) > 150:
            problems.append(f"{path}: placeholder over 150")
        for key, value in node.items():
            _walk(value, problems, f"{path}.{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _walk(value, problems, f"{path}[{index}]")


def check_blocks(blocks: list[dict[str, Any]], max_blocks: int = 50) -> None:
    assert len(blocks) <= max_blocks, f"{len(blocks)} blocks"
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None, f"unknown block {block.get('type')}"
        parsed.to_dict()  # raises on what slack_sdk knows is too long
    problems: list[str] = []
    _walk(blocks, problems, "blocks")
    assert not problems, problems


def check_view(view: dict[str, Any]) -> None:
    View(**view).to_dict()
    check_blocks(view["blocks"], max_blocks=100)
    for key in ("title", "submit", "close"):
        if key in view:
            assert len(view[key]["text"]) <= 24, key
    assert len(view.get("private_metadata", "")) <= 3000
