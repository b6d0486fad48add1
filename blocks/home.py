"""The App Home tab: what the bot does, where it works, examples that work here, and the
user's own recent updates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from blocks import ids
from blocks.modal import plain
from blocks.text import escape, safe_url, truncate

Block = dict[str, Any]


@dataclass(frozen=True)
class Routing:
    tool: str  # "Jira"
    channels: Sequence[str]  # channel ids routed to it
    default: bool  # every other channel too


@dataclass(frozen=True)
class RecentUpdate:
    at: str
    ticket: str
    changes: str


@dataclass(frozen=True)
class ConnectPanel:
    """Distributed mode: the workspace's connected tools, and a way to connect one."""

    tools: Sequence[tuple[str, str]]  # (tool, "connected" or what is wrong)
    connect_url: str | None  # for an admin: a connect page of the unified API
    who_can: str | None = None  # for everyone else: who may connect a tool
    settings: bool = False  # for an admin of a workspace with a tool: the Settings button


def _connect_blocks(panel: ConnectPanel) -> list[Block]:
    if panel.tools:
        lines = "\n".join(f"*{escape(tool)}*: {escape(state)}" for tool, state in panel.tools)
        blocks = [_section("*Connected tools*\n" + lines)]
    else:
        blocks = [_section("*Connect your tracker*\nNo tool is connected to this workspace yet.")]
    if panel.connect_url:
        label = "Connect another tool" if panel.tools else "Connect your tracker"
        button = {
            "type": "button",
            "action_id": ids.CONNECT_TRACKER,
            "text": {"type": "plain_text", "text": label},
            "url": panel.connect_url,
        }
        if not panel.tools:
            button["style"] = "primary"
        elements = [button]
        if panel.settings:
            elements.append(
                {
                    "type": "button",
                    "action_id": ids.OPEN_SETTINGS,
                    "text": {"type": "plain_text", "text": "Settings"},
                    "value": "settings",
                }
            )
        blocks.append({"type": "actions", "elements": elements})
    elif not panel.tools:
        blocks.append(_section(panel.who_can or "A workspace admin can connect one from this tab."))
    blocks.append({"type": "divider"})
    return blocks


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}}


@dataclass(frozen=True)
class HomeSubscription:
    channel: str
    filter: str
    tool: str
    remove_value: str  # signed: which subscription


def _subscription_blocks(subs: Sequence[HomeSubscription]) -> list[Block]:
    if subs:
        blocks = [_section("*Subscriptions* in your channels")]
        for item in subs[:15]:
            blocks.append(
                {
                    "type": "section",
                    "text": {
                        "type": "mrkdwn",
                        "text": truncate(
                            f"<#{item.channel}> `{escape(item.filter)}` in {escape(item.tool)}", 3000
                        ),
                    },
                    "accessory": {
                        "type": "button",
                        "action_id": ids.SUB_REMOVE,
                        "text": {"type": "plain_text", "text": "Remove"},
                        "value": item.remove_value,
                    },
                }
            )
    else:
        blocks = [_section("*Subscriptions*\nNone of your channels follows any tickets yet.")]
    add = {
        "type": "button",
        "action_id": ids.SUB_ADD,
        "text": {"type": "plain_text", "text": "Subscribe a channel"},
        "value": "add",
    }
    return [*blocks, {"type": "actions", "elements": [add]}, {"type": "divider"}]


def _notify_blocks(on: bool) -> list[Block]:
    said = (
        "*Your notifications* are on: a DM when a ticket is assigned to you, when one assigned to or "
        "created by you changes status or priority, or when its description mentions you."
        if on
        else "*Your notifications* are off. Turn them on for a DM when a ticket is assigned to you, "
        "when one assigned to or created by you changes status or priority, or mentions you."
    )
    button = {
        "type": "button",
        "action_id": ids.NOTIFY_TOGGLE,
        "text": {"type": "plain_text", "text": "Turn off" if on else "Turn on"},
        "value": "off" if on else "on",
    }
    return [_section(said), {"type": "actions", "elements": [button]}]


def own_account_blocks(tool: str, connected: bool, reconnect_url: str | None = None) -> list[Block]:
    """The reader's own account of the workspace's tool: connect it, reconnect it (it can no
    longer sign in: `reconnect_url`), or disconnect it."""
    if reconnect_url:
        text = (
            f"*Your own {escape(tool)} account* can no longer sign in: reconnect it, or your changes "
            "go through the workspace's account (or, where your own is required, not at all)."
        )
        reconnect = {
            "type": "button",
            "text": plain("Reconnect", 75),
            "url": reconnect_url,
            "style": "primary",
        }
        disconnect = {
            "type": "button",
            "action_id": ids.OWN_ACCOUNT,
            "text": plain("Disconnect", 75),
            "value": "disconnect",
        }
        return [_section(text), {"type": "actions", "elements": [reconnect, disconnect]}, {"type": "divider"}]
    if connected:
        text = f"*Your own {escape(tool)} account* is connected: your changes show as you in {escape(tool)}."
        label, value = "Disconnect", "disconnect"
    else:
        text = (
            f"*Your own {escape(tool)} account*: connect it and your changes from Slack show as you "
            f"in {escape(tool)}, with your permissions there."
        )
        label, value = f"Connect your own {tool} account", "connect"
    button = {"type": "button", "action_id": ids.OWN_ACCOUNT, "text": plain(label, 75), "value": value}
    return [_section(text), {"type": "actions", "elements": [button]}, {"type": "divider"}]


@dataclass(frozen=True)
class MyTicket:
    """A ticket of the reader's on the Home tab."""

    ref: str
    url: str | None
    title: str
    status: str
    due: str | None
    when: str  # "overdue", "due soon" or ""
    show_value: str  # its Show card button


@dataclass(frozen=True)
class MyTickets:
    tool: str
    assigned: Sequence[MyTicket]
    created: Sequence[MyTicket]
    problem: str | None = None  # why they could not be listed


def my_ticket_section(ticket: MyTicket) -> Block:
    link = safe_url(ticket.url)
    ref = f"<{link}|{escape(ticket.ref)}>" if link else escape(ticket.ref)
    facts = [escape(ticket.status)] if ticket.status else []
    if ticket.due:
        facts.append(f"due {escape(ticket.due)}" + (f" *({ticket.when})*" if ticket.when else ""))
    text = f"*{ref}* {escape(truncate(ticket.title, 120))}" + (f"\n{' · '.join(facts)}" if facts else "")
    button = {
        "type": "button",
        "action_id": ids.SHOW_CARD,
        "text": plain("Show card", 75),
        "value": ticket.show_value,
    }
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, 3000)}, "accessory": button}


def my_ticket_blocks(mine: MyTickets) -> list[Block]:
    """Assigned to me, then created by me (open ones, overdue and due soon marked)."""
    header = _section(f"*My tickets* in {escape(mine.tool)}")
    header["accessory"] = {
        "type": "button",
        "action_id": ids.HOME_CREATE,
        "text": plain("Create a ticket", 75),
        "value": "create",
    }
    blocks: list[Block] = [header]
    if mine.problem:
        return [*blocks, _section(escape(mine.problem)), {"type": "divider"}]
    for title, tickets in (("Assigned to me", mine.assigned), ("Created by me", mine.created)):
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": f"*{title}*"}]})
        blocks += [my_ticket_section(t) for t in tickets] or [_section("None open.")]
    return [*blocks, {"type": "divider"}]


def home_view(
    routings: Sequence[Routing],
    examples: Sequence[str],
    recent: Sequence[RecentUpdate] | None,
    connect: ConnectPanel | None = None,
    notify: bool | None = None,
    subscriptions: Sequence[HomeSubscription] | None = None,
    own: list[Block] | None = None,
    mine: MyTickets | None = None,
) -> dict[str, Any]:
    """`recent` is None when no audit trail is kept (no Redis); `connect` in distributed mode;
    `notify`: the reader's personal notifications (None: not offered, no tool connected)."""
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Update tickets without leaving Slack"}},
        _section(
            "Type `/ticket` in any channel to change a ticket in the tool your team uses: one grammar "
            "for every tracker. Every change is checked before anything is sent, applied once, and "
            "shown as a card that stays up to date."
        ),
        {"type": "divider"},
    ]
    if connect is not None:
        blocks += _connect_blocks(connect)
    if mine is not None:
        blocks += my_ticket_blocks(mine)
    lines = []
    for routing in routings:
        where = ", ".join(f"<#{c}>" for c in routing.channels if c.isalnum())
        if routing.default:
            where = f"{where} and every other channel" if where else "every channel"
        lines.append(f"*{escape(routing.tool)}*: {where or 'no channel yet'}")
    blocks.append(_section("*Where it works*\n" + ("\n".join(lines) or "No tool is connected yet.")))
    blocks.append(_section("*Try it here*\n" + "\n".join(f"`/ticket {escape(e)}`" for e in examples)))
    blocks.append(
        _section(
            "*Cards in a channel*\nInvite the bot to a channel (`/invite @ticketbot`) to have it "
            "post cards there as itself; those cards follow their ticket when it changes anywhere."
        )
    )
    blocks.append({"type": "divider"})
    if subscriptions is not None:
        blocks += _subscription_blocks(subscriptions)
    if notify is not None:
        blocks += [*_notify_blocks(notify), {"type": "divider"}]
    blocks += own or []
    if recent is None:
        blocks.append(_section("*Your recent updates*\nKept when the bot has a Redis (REDIS_URL)."))
    elif not recent:
        blocks.append(_section("*Your recent updates*\nNone yet."))
    else:
        rows = [
            f"{escape(r.at[:16].replace('T', ' '))}  *{escape(r.ticket)}*  {escape(r.changes)}"
            for r in recent
        ]
        blocks.append(_section("*Your recent updates*\n" + "\n".join(rows)))
    return {"type": "home", "blocks": blocks}
