from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.domain.accounts import Account
from bot.domain.workspace_settings import WorkspaceSettings

JIRA = Account(name="jira", integrated_account_id="ia-jira", tool="Jira")
LINEAR = Account(name="linear", integrated_account_id="ia-linear", tool="Linear")


def test_settings_shape_the_workspaces_accounts_and_routing() -> None:
    settings = WorkspaceSettings(
        channels={"C0OPS": "ia-linear", "C0GONE": "ia-removed"},
        default_account="ia-linear",
        users=("U0ANA",),
        usergroups=("S0ENG",),
        read_only_channels=("C0ANNOUNCE",),
        locked_fields=("due_date",),
        channel_card="none",
    )
    accounts, channels, default = settings.apply({"jira": JIRA, "linear": LINEAR})
    assert channels == {"C0OPS": "linear"}  # an account no longer connected is skipped
    assert default == "linear"
    for account in accounts.values():
        assert account.permissions.update.users == ("U0ANA",)
        assert account.permissions.update.usergroups == ("S0ENG",)
        assert account.permissions.read_only_channels == ("C0ANNOUNCE",)
        assert account.permissions.locked_fields == ("due_date",)
        assert account.channel_card == "none"


def test_defaults_keep_the_first_connected_as_default_and_everyone_allowed() -> None:
    accounts, channels, default = WorkspaceSettings().apply({"jira": JIRA, "linear": LINEAR})
    assert (channels, default) == ({}, "jira")
    assert accounts["jira"].permissions.update.open


@pytest.mark.parametrize(
    ("field", "value", "said"),
    [
        ("usergroups", ("oncall",), "'oncall' is not a user group id"),
        ("users", ("ana",), "'ana' is not a user id"),
        ("read_only_channels", ("#general",), "'#general' is not a channel id"),
        ("locked_fields", ("colour",), "unknown field(s) colour"),
    ],
)
def test_a_bad_value_is_named(field: str, value: tuple[str, ...], said: str) -> None:
    with pytest.raises(ValidationError, match=said.replace("(", r"\(").replace(")", r"\)")):
        WorkspaceSettings(**{field: value})
