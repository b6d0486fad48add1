"""A connected ticketing account as configured: who may change what, extra query parameters,
link patterns. Value types, validated where they are read (the YAML file, the environment)."""

from __future__ import annotations

import functools
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from bot.domain.models import TicketUpdate
from bot.domain.redact import mask_url_credentials


def http_url(value: str) -> str:
    if not re.match(r"^https?://[^/\s]+", value):
        raise ValueError(
            f"must be an http(s) URL such as https://example.com, got {mask_url_credentials(value)!r}"
        )
    return value


DEFAULT_LOCKED_FIELDS = ("created_at", "updated_at", "created_by", "remote_data", "items")


UNKNOWN_TOOL = "the ticketing tool"
# Each connected account's tool, as the unified API names its integration (integration.label,
# else its name title-cased); learned by discovery (bot/truto/discovery.py), once per process.
_TOOL_LABELS: dict[str, str] = {}


def learn_tool_label(integrated_account_id: str, label: str | None) -> None:
    if label:
        _TOOL_LABELS[integrated_account_id] = label


def tool_label_of(capabilities: Any) -> str | None:
    """`integration.label` of a capabilities answer, else `integration.name` title-cased."""
    integration = capabilities.get("integration") if isinstance(capabilities, dict) else None
    if not isinstance(integration, dict):
        return None
    label = integration.get("label")
    if isinstance(label, str) and label.strip():
        return label.strip()
    name = integration.get("name")
    if isinstance(name, str) and name.strip():
        return name.strip().replace("_", " ").replace("-", " ").title()
    return None


def integration_name_of(capabilities: Any) -> str | None:
    """`integration.name` of a capabilities answer (jira, linear…): what a person's own account
    of the same tool is matched by."""
    integration = capabilities.get("integration") if isinstance(capabilities, dict) else None
    name = integration.get("name") if isinstance(integration, dict) else None
    return name.strip() if isinstance(name, str) and name.strip() else None


def checked_reactions(reactions: dict[str, str]) -> dict[str, str]:
    """Emoji names (colons dropped) → updates, each checked as `/ticket update` would check it;
    ValueError naming the first mistake. The same reactions are checked once (every account of
    every workspace with the default settings has them)."""
    return dict(_checked_reactions(tuple(reactions.items())))


@functools.lru_cache(maxsize=256)
def _checked_reactions(reactions: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    from bot.domain.commands import UpdateCommand
    from bot.domain.errors import ParseError
    from bot.domain.grammar import parse

    checked = []
    for emoji, words in reactions:
        name = emoji.strip(":")
        if not re.fullmatch(r"[a-z0-9_+\-']{1,100}", name):
            raise ValueError(f"{emoji!r} is not an emoji name (white_check_mark, eyes, fire…)")
        try:
            command = parse(f"update REACT-1 {words}")
        except ParseError as exc:
            raise ValueError(f"{emoji}: {exc}") from None
        if not isinstance(command, UpdateCommand) or command.bulk:
            raise ValueError(f"{emoji}: the update is field=value words, e.g. status=done")
        checked.append((name, words))
    return tuple(checked)


WorkflowSteps = Literal["person", "any", "off"]
# Who acts on the tool: a person's own connection where they have one (else the workspace's),
# always the workspace's, or only a person's own (nothing is sent for someone without one).
Identity = Literal["personal-preferred", "shared", "personal-required"]


class UpdateRule(BaseModel):
    """Who may update; all empty means anyone in a channel routed to the account."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    users: tuple[str, ...] = ()
    usergroups: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()

    @property
    def open(self) -> bool:
        return not (self.users or self.usergroups or self.channels)


class Permissions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    update: UpdateRule = Field(default_factory=UpdateRule)
    # Creating tickets from Slack (/ticket create, the form, "Create ticket", the step): allowed to
    # whoever may update, unless turned off here.
    create: bool = True
    subscribe: UpdateRule | None = None  # who may change a channel's subscriptions; None: as update
    read_only_channels: tuple[str, ...] = ()
    # Workflow Builder steps: `person` runs a step as the person Slack vouches for (its
    # interactivity input), else as the workflow only where `update` is open in the channel;
    # `any` lets the workflow update where `update` is limited to people too; `off` refuses them.
    workflow_steps: WorkflowSteps = "person"
    # Guests (multi- and single-channel) and people from other organisations (Slack Connect)
    # may change tickets and subscriptions only where this is on.
    guests: bool = False
    locked_fields: tuple[str, ...] = DEFAULT_LOCKED_FIELDS

    @field_validator("locked_fields")
    @classmethod
    def _known_fields(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        unknown = sorted(set(names) - set(TicketUpdate.model_fields))
        if unknown:
            raise ValueError(f"unknown field(s) {', '.join(unknown)}; fields are those of the update body")
        return names


Scalar = str | int | float | bool
QueryValue = Scalar | list[Scalar] | dict[str, Scalar]
QUERY_OPERATIONS = ("all", "update", "get", "list", "create")
PER_VERSION_PARAMS = frozenset({"etag"})  # taken from the ticket each time, never from config


class AccountQuery(BaseModel):
    """Extra query parameters, by operation: `all` for every call, and `update`, `get`, `list`
    for those calls only (`truto_exclude_fields` on a list call would break the lookups). Lists
    become `key[]=a&key[]=b` and maps `key[sub]=v`. A flat mapping means `all`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    all: dict[str, QueryValue] = Field(default_factory=dict)
    update: dict[str, QueryValue] = Field(default_factory=dict)
    get: dict[str, QueryValue] = Field(default_factory=dict)
    create: dict[str, QueryValue] = Field(default_factory=dict)
    list: dict[str, QueryValue] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _flat_means_all(cls, data: Any) -> Any:
        if isinstance(data, dict) and data and not set(data) <= set(QUERY_OPERATIONS):
            return {"all": data}
        return data

    @model_validator(mode="after")
    def _no_per_version_values(self) -> AccountQuery:
        for operation in QUERY_OPERATIONS:
            static = sorted(set(getattr(self, operation)) & PER_VERSION_PARAMS)
            if static:
                raise ValueError(
                    f"{operation}.{static[0]}: changes with every version of a ticket; the bot "
                    "takes it from the ticket, so it cannot be configured"
                )
        return self

    def for_operation(self, operation: str) -> dict[str, QueryValue]:
        """The parameters of one kind of call (`all` under the operation's own)."""
        if operation not in QUERY_OPERATIONS or operation == "all":
            return dict(self.all)
        return {**self.all, **getattr(self, operation)}


class Account(BaseModel):
    """One connected ticketing tool (an integrated account of the unified API)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = ""
    integrated_account_id: str = Field(min_length=1)
    tool: str | None = None
    query: AccountQuery = Field(default_factory=AccountQuery)
    link_patterns: tuple[str, ...] = ()
    ticket_url_template: str | None = None
    permissions: Permissions = Field(default_factory=Permissions)
    # Emoji → an update (the grammar's words): reacting with it on a message that links one ticket
    # applies that update as the reacting user, e.g. {white_check_mark: "status=done"}.
    reactions: dict[str, str] = Field(default_factory=dict)
    # Custom fields (names or labels) the edit form shows besides those the tool requires.
    form_custom_fields: tuple[str, ...] = ()
    # What the channel sees after an update: the full card, one compact line (the card one
    # click away), or nothing (the card goes to the user alone). Default: CHANNEL_CARD.
    channel_card: Literal["full", "compact", "none"] | None = None
    # Project prefixes of this tool's keys (PROJ in PROJ-42): the message shortcut counts a bare
    # key only with one of them, or one of the account's collections (URLs always count).
    key_prefixes: tuple[str, ...] = ()
    # Distributed mode (the Home tab's settings): who acts on the tool, see `Identity`.
    identity: Identity = "personal-preferred"
    # Set on the account a job runs through when it is a person's own connection: whose it is.
    acting_as: str | None = None

    @field_validator("link_patterns")
    @classmethod
    def _check_patterns(cls, patterns: tuple[str, ...]) -> tuple[str, ...]:
        for pattern in patterns:
            try:
                compiled = re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"{pattern!r} is not a valid regular expression: {exc}") from exc
            if "ref" not in compiled.groupindex:
                raise ValueError(f"{pattern!r} needs a named group (?P<ref>...) for the ticket id")
        return patterns

    @field_validator("reactions")
    @classmethod
    def _check_reactions(cls, reactions: dict[str, str]) -> dict[str, str]:
        return checked_reactions(reactions)

    @field_validator("ticket_url_template")
    @classmethod
    def _check_template(cls, template: str | None) -> str | None:
        if template is not None:
            if "{ref}" not in template:
                raise ValueError("must contain {ref}, e.g. https://linear.app/acme/issue/{ref}")
            http_url(template)
        return template

    @property
    def display_tool(self) -> str:
        """The tool by its own name: the YAML's `tool`, else the label the unified API gives its
        integration (learned with the capabilities), else "the ticketing tool"; never the
        account's key (`default`)."""
        return self.tool or _TOOL_LABELS.get(self.integrated_account_id) or UNKNOWN_TOOL

    def ticket_url(self, ref: str) -> str | None:
        return self.ticket_url_template.format(ref=ref) if self.ticket_url_template else None
