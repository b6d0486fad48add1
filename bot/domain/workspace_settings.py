"""A workspace's settings, edited by its admins from the Home tab (distributed mode): which tool
each channel uses and the default, who may update, read-only channels, locked fields, what a
channel sees after an update, emoji reactions, Workflow Builder steps, creating tickets. Stored by integrated
account id (names are derived and may shift); applied to the workspace's accounts as the YAML
file's keys are in single-workspace mode."""

from __future__ import annotations

import re
from functools import cached_property
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from bot.domain.accounts import (
    DEFAULT_LOCKED_FIELDS,
    Account,
    Identity,
    Permissions,
    UpdateRule,
    WorkflowSteps,
    checked_reactions,
)
from bot.domain.models import TicketUpdate

CHANNEL = re.compile(r"^[CGD][A-Z0-9]{2,}$")
USER = re.compile(r"^[UW][A-Z0-9]{2,}$")
USERGROUP = re.compile(r"^S[A-Z0-9]{2,}$")
LOCKABLE = tuple(sorted(TicketUpdate.model_fields))


def _ids(values: tuple[str, ...], pattern: re.Pattern[str], what: str) -> tuple[str, ...]:
    bad = [v for v in values if not pattern.match(v)]
    if bad:
        raise ValueError(f"{bad[0]!r} is not a {what} id")
    return tuple(dict.fromkeys(values))


class WorkspaceSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    channels: dict[str, str] = Field(default_factory=dict)  # channel id → integrated account id
    default_account: str | None = None  # integrated account id; None: the first connected
    users: tuple[str, ...] = ()  # who may update; with usergroups all empty: anyone
    usergroups: tuple[str, ...] = ()
    read_only_channels: tuple[str, ...] = ()
    locked_fields: tuple[str, ...] = DEFAULT_LOCKED_FIELDS
    channel_card: Literal["full", "compact", "none"] | None = None  # None: the deployment's
    reactions: dict[str, str] = Field(default_factory=dict)  # emoji → an update, for every tool
    workflow_steps: WorkflowSteps = "person"
    guests: bool = False  # guests and people from other organisations may change tickets
    create: bool = True  # whoever may update may also create tickets from Slack
    identity: Identity = "personal-preferred"  # who acts on the tool (people's own connections)

    @field_validator("reactions")
    @classmethod
    def _reactions(cls, value: dict[str, str]) -> dict[str, str]:
        return checked_reactions(value)

    @field_validator("channels")
    @classmethod
    def _channels(cls, value: dict[str, str]) -> dict[str, str]:
        _ids(tuple(value), CHANNEL, "channel")
        return value

    @field_validator("users")
    @classmethod
    def _users(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _ids(value, USER, "user")

    @field_validator("usergroups")
    @classmethod
    def _usergroups(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _ids(value, USERGROUP, "user group")

    @field_validator("read_only_channels")
    @classmethod
    def _read_only(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return _ids(value, CHANNEL, "channel")

    @field_validator("locked_fields")
    @classmethod
    def _locked(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(value) - set(LOCKABLE))
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}")
        return tuple(dict.fromkeys(value))

    @cached_property
    def permissions(self) -> Permissions:
        """Every account's permissions under these settings (built once; the defaults' shared by
        every workspace that keeps them)."""
        if self == _DEFAULT:
            return _DEFAULT_PERMISSIONS
        return self._permissions()

    def _permissions(self) -> Permissions:
        return Permissions(
            update=UpdateRule(users=self.users, usergroups=self.usergroups),
            read_only_channels=self.read_only_channels,
            locked_fields=self.locked_fields,
            workflow_steps=self.workflow_steps,
            guests=self.guests,
            create=self.create,
        )

    def account_fields(self) -> dict[str, Any]:
        """What these settings set on each of the workspace's accounts."""
        return {
            "permissions": self.permissions,
            "channel_card": self.channel_card,
            "reactions": self.reactions,
            "identity": self.identity,
        }

    def apply(self, accounts: dict[str, Account]) -> tuple[dict[str, Account], dict[str, str], str | None]:
        """The accounts with these permissions, the channel routing by account name, and the
        default account's name. Settings naming an account no longer connected are skipped."""
        fields = self.account_fields()
        shaped = {name: account.model_copy(update=fields) for name, account in accounts.items()}
        return shaped, *self.routing(shaped)

    def routing(self, accounts: dict[str, Account]) -> tuple[dict[str, str], str | None]:
        """The channel routing by account name, and the default account's name, for accounts
        already shaped by these settings."""
        by_id = {a.integrated_account_id: name for name, a in accounts.items()}
        channels = {c: by_id[a] for c, a in self.channels.items() if a in by_id}
        default = by_id.get(self.default_account or "") or next(iter(accounts), None)
        return channels, default


_DEFAULT = WorkspaceSettings()
_DEFAULT_PERMISSIONS = _DEFAULT._permissions()


def default_settings() -> WorkspaceSettings:
    """The settings of a workspace that has saved none: one shared instance (it is frozen)."""
    return _DEFAULT


def reactions_from_lines(text: str) -> dict[str, str]:
    """The settings form's reactions, one per line: an emoji, then its update
    (`:white_check_mark: status=done`, or `eyes = assignee=me`). ValueError naming the line."""
    reactions: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        emoji, _, words = line.partition(" ")
        words = words.strip().removeprefix("=").removeprefix("→").strip()
        if not words:
            raise ValueError(f"line {number}: an emoji, then its update, e.g. :white_check_mark: status=done")
        try:
            reactions |= checked_reactions({emoji: words})
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from None
    return reactions


def reactions_as_lines(reactions: dict[str, str]) -> str:
    return "\n".join(f":{emoji}: {words}" for emoji, words in reactions.items())
