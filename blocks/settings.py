"""The workspace settings modal (distributed mode), opened by an admin from the Home tab."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from blocks import ids
from blocks.modal import plain
from bot.domain.fields import FIELDS
from bot.domain.workspace_settings import LOCKABLE, WorkspaceSettings, reactions_as_lines

CARD_CHOICES = (
    ("default", "As the deployment says"),
    ("full", "The full card"),
    ("compact", "One line (the card one click away)"),
    ("none", "Nothing (the card to its author alone)"),
)
STEP_CHOICES = (
    ("person", "As the person who started it; as the workflow only where anyone may update"),
    ("any", "Also as the workflow where updates are limited to people"),
    ("off", "Never: steps are turned off"),
)
IDENTITY_CHOICES = (
    ("personal-preferred", "Each person's own account where they connected one, else the workspace's"),
    ("shared", "Always the workspace's account (people cannot connect their own)"),
    ("personal-required", "Only each person's own account: connect it before changing anything"),
)
CREATE_CHOICES = (
    ("on", "Whoever may update (/ticket create, the form, Create ticket on a message, the step)"),
    ("off", "Nobody: tickets are created in the tool only"),
)
GUEST_CHOICES = (
    ("members", "Members only (not guests, not people from other organisations)"),
    ("guests", "Guests and people from other organisations too"),
)


def _option(value: str, text: str) -> dict[str, Any]:
    return {"text": plain(text, 75), "value": value}


def _input(block_id: str, label: str, element: dict[str, Any], hint: str | None = None) -> dict[str, Any]:
    block = {
        "type": "input",
        "block_id": block_id,
        "optional": True,
        "label": plain(label, 2000),
        "element": {"action_id": ids.SETTINGS_VALUE, **element},
    }
    if hint:
        block["hint"] = plain(hint, 2000)
    return block


def _choice(choices: Sequence[tuple[str, str]], current: str) -> dict[str, Any]:
    """A static select of (value, text) choices, `current` chosen."""
    options = [_option(value, text) for value, text in choices]
    return {
        "type": "static_select",
        "options": options,
        "initial_option": next(o for o in options if o["value"] == current),
    }


def _conversations(chosen: Sequence[str]) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "multi_conversations_select",
        "filter": {"include": ["public", "private"], "exclude_bot_users": True},
    }
    if chosen:
        element["initial_conversations"] = list(chosen)[:100]
    return element


def settings_view(
    tools: Sequence[tuple[str, str]], settings: WorkspaceSettings, metadata: str
) -> dict[str, Any]:
    """`tools`: (integrated account id, tool name) of each connected account, oldest first."""
    blocks: list[dict[str, Any]] = []
    for n, (account, tool) in enumerate(tools):
        chosen = [c for c, a in settings.channels.items() if a == account]
        blocks.append(
            _input(f"{ids.SETTINGS_CHANNELS}{n}", f"Channels that use {tool}", _conversations(chosen))
        )
    if len(tools) > 1:
        options = [_option(account, tool) for account, tool in tools]
        default = next((o for o in options if o["value"] == settings.default_account), options[0])
        blocks.append(
            _input(
                ids.SETTINGS_DEFAULT,
                "Every other channel uses",
                {"type": "static_select", "options": options, "initial_option": default},
            )
        )
    users: dict[str, Any] = {"type": "multi_users_select"}
    if settings.users:
        users["initial_users"] = list(settings.users)
    blocks.append(
        _input(
            ids.SETTINGS_USERS,
            "Who may update tickets",
            users,
            "Nobody here and no user group below: everyone in the workspace may.",
        )
    )
    blocks.append(
        _input(
            ids.SETTINGS_USERGROUPS,
            "User groups who may update",
            {"type": "plain_text_input", "initial_value": " ".join(settings.usergroups)},
            "User group ids (S0123ABCD, from the group's profile → Copy ID), separated by spaces.",
        )
    )
    blocks.append(
        _input(
            ids.SETTINGS_READ_ONLY,
            "Read-only channels",
            _conversations(settings.read_only_channels),
            "Tickets can be shown there, not changed.",
        )
    )
    locked: dict[str, Any] = {
        "type": "multi_static_select",
        "options": [_option(name, FIELDS[name].label if name in FIELDS else name) for name in LOCKABLE],
    }
    initial = [o for o in locked["options"] if o["value"] in settings.locked_fields]
    if initial:
        locked["initial_options"] = initial
    blocks.append(_input(ids.SETTINGS_LOCKED, "Fields nobody may change from Slack", locked))
    blocks.append(
        _input(
            ids.SETTINGS_CHANNEL_CARD,
            "After an update, the channel sees",
            _choice(CARD_CHOICES, settings.channel_card or "default"),
        )
    )
    reactions: dict[str, Any] = {"type": "plain_text_input", "multiline": True, "max_length": 3000}
    if settings.reactions:
        reactions["initial_value"] = reactions_as_lines(settings.reactions)
    blocks.append(
        _input(
            ids.SETTINGS_REACTIONS,
            "Emoji reactions that update a ticket",
            reactions,
            "One per line: an emoji, then its update, e.g. :white_check_mark: status=done. Reacting "
            "with it on a message that links a ticket applies the update as the reacting person.",
        )
    )
    blocks.append(
        _input(
            ids.SETTINGS_WORKFLOW_STEPS,
            "Workflow Builder steps update tickets",
            _choice(STEP_CHOICES, settings.workflow_steps),
        )
    )
    blocks.append(
        _input(
            ids.SETTINGS_IDENTITY,
            "Changes are made in the tool as",
            _choice(IDENTITY_CHOICES, settings.identity),
            "With people's own accounts, the tool records who changed what and its permissions apply.",
        )
    )
    blocks.append(
        _input(
            ids.SETTINGS_CREATE,
            "Who may create tickets from Slack",
            _choice(CREATE_CHOICES, "on" if settings.create else "off"),
        )
    )
    blocks.append(
        _input(
            ids.SETTINGS_GUESTS,
            "Who may change tickets and subscriptions",
            _choice(GUEST_CHOICES, "guests" if settings.guests else "members"),
            "Showing tickets and link previews work for everyone.",
        )
    )
    return {
        "type": "modal",
        "callback_id": ids.SETTINGS_VIEW,
        "title": plain("Workspace settings", 24),
        "submit": plain("Save", 24),
        "close": plain("Cancel", 24),
        "blocks": blocks,
        "private_metadata": metadata,
    }
