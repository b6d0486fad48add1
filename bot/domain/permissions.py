"""Who may change what, per account: update rules, read-only channels, locked fields."""

from __future__ import annotations

from collections.abc import Collection, Iterable
from typing import Protocol

from bot.domain.accounts import Account
from bot.domain.errors import NotPermitted
from bot.domain.fields import field_list


class GroupDirectory(Protocol):
    async def members_of(self, usergroup_id: str) -> frozenset[str]: ...


def check_standing(account: Account, standing: str | None) -> None:
    """Refuse a guest or someone from another organisation unless the account lets guests in."""
    if standing is not None and not account.permissions.guests:
        raise NotPermitted(
            f"you are {standing} in this workspace, and guests may not change {account.display_tool} "
            "tickets or subscriptions from Slack; a workspace admin can allow guests (“Guests” in the "
            f"Home tab's settings, or permissions.guests of the {account.name} account)"
        )


async def check_update(
    account: Account,
    user_id: str | None,
    channel: str | None,
    fields: Iterable[str] = (),
    groups: GroupDirectory | None = None,
    read_only_elsewhere: Collection[str] = (),
    *,
    as_workflow: bool = False,
) -> None:
    """Raise NotPermitted unless this user may change these fields from this channel. A channel
    read-only for any account (`read_only_elsewhere`) is read-only for every account's tickets:
    a pasted link to another tool's ticket is no way around it. `as_workflow`: a Workflow Builder
    step that no person Slack vouched for started; it may update where updates are open to
    everyone in the channel, elsewhere only where an admin let steps run as the workflow."""
    rules = account.permissions
    tool = account.display_tool
    if channel and channel in rules.read_only_channels:
        raise NotPermitted(
            f"this channel is read-only for {tool}: /ticket show and link previews work here, changes don't"
        )
    if channel and channel in read_only_elsewhere:
        raise NotPermitted(
            "this channel is read-only: /ticket show and link previews work here, changes don't"
        )
    rule = rules.update
    if as_workflow:
        if rules.workflow_steps != "any" and not rule.open and not (channel and channel in rule.channels):
            raise NotPermitted(
                f"this step was not started by a person Slack can vouch for, and {tool} updates are "
                "limited to certain people; add the step's Interactivity input (“Person who used this "
                "workflow”, from a link trigger, shortcut or button) so it runs as that person, or an "
                "admin may let steps run as the workflow (“Workflow Builder steps” in the Home tab's "
                f"settings, or permissions.workflow_steps: any of the {account.name} account)"
            )
    elif not rule.open and not await _allowed(
        rule.users, rule.usergroups, rule.channels, user_id, channel, groups
    ):
        raise NotPermitted(
            f"you may not change {tool} tickets from Slack; an admin can allow you "
            f"(permissions.update of the {account.name} account in the ticketbot config)"
        )
    # description and html_description are one text in two forms: locking one locks both.
    paired = {"description": "html_description", "html_description": "description"}
    locked = [
        name for name in fields if name in rules.locked_fields or paired.get(name, "") in rules.locked_fields
    ]
    if locked:
        verb = "are" if len(locked) > 1 else "is"
        raise NotPermitted(f"{field_list(locked)} {verb} locked in the ticketbot configuration")


async def check_subscribe(
    account: Account, user_id: str | None, channel: str | None, groups: GroupDirectory | None = None
) -> None:
    """Raise NotPermitted unless this user may change this channel's subscriptions to this
    account (`permissions.subscribe`, else `permissions.update`). A read-only channel may
    subscribe: a subscription changes no ticket."""
    rules = account.permissions
    rule = rules.subscribe or rules.update
    if not rule.open and not await _allowed(
        rule.users, rule.usergroups, rule.channels, user_id, channel, groups
    ):
        key = "subscribe" if rules.subscribe is not None else "update"
        raise NotPermitted(
            f"you may not change this channel's {account.display_tool} subscriptions; an admin can "
            f"allow you (permissions.{key} of the {account.name} account in the ticketbot config)"
        )


async def _allowed(
    users: tuple[str, ...],
    usergroups: tuple[str, ...],
    channels: tuple[str, ...],
    user_id: str | None,
    channel: str | None,
    groups: GroupDirectory | None,
) -> bool:
    if (user_id and user_id in users) or (channel and channel in channels):
        return True
    if user_id and groups is not None:
        for group in usergroups:
            if user_id in await groups.members_of(group):
                return True
    return False
