"""Configuration: environment names, the YAML file, and one clear message per bad value."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.ops.config import ConfigError, load_config

ENV_KEYS = [
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "SLACK_API_URL",
    "TRUTO_API_TOKEN",
    "TRUTO_BASE_URL",
    "TRUTO_INTEGRATED_ACCOUNT_ID",
    "REDIS_URL",
    "TICKETBOT_CONFIG",
    "LOG_LEVEL",
]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for key in ENV_KEYS:
        monkeypatch.delenv(key, raising=False)


def test_environment_names_are_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-T0P-S3CR3T")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "sign-S3CR3T")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-S3CR3T")
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api/")
    monkeypatch.setenv("TRUTO_API_TOKEN", "truto-S3CR3T")
    monkeypatch.setenv("TRUTO_BASE_URL", "http://127.0.0.1:8010")
    monkeypatch.setenv("TRUTO_INTEGRATED_ACCOUNT_ID", "acc-1")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/2")
    monkeypatch.setenv("LOG_LEVEL", "debug")
    config = load_config()
    s = config.settings
    assert s.slack_bot_token is not None and s.slack_bot_token.get_secret_value() == "xoxb-T0P-S3CR3T"
    assert s.truto_api_token is not None and s.truto_api_token.get_secret_value() == "truto-S3CR3T"
    assert (s.slack_api_url, s.truto_base_url, s.redis_url, s.log_level) == (
        "http://127.0.0.1:9/api/",
        "http://127.0.0.1:8010",
        "redis://127.0.0.1:6379/2",
        "DEBUG",
    )
    assert config.default_account == "default"
    assert config.account_for_channel("CANY") == config.accounts["default"]
    assert config.accounts["default"].integrated_account_id == "acc-1"
    # Secrets never show in reprs.
    assert "S3CR3T" not in repr(s) and "S3CR3T" not in str(config)


def test_defaults() -> None:
    s = load_config().settings
    assert (s.slack_api_url, s.truto_base_url, s.redis_url) == (
        "https://slack.com/api/",
        "https://api.truto.one",
        None,
    )
    assert (s.truto_connect_timeout, s.truto_timeout) == (5.0, 15.0)


YAML = """
default_account: jira
accounts:
  jira:
    integrated_account_id: ia-jira
    tool: Jira
    link_patterns: ['^https://tracker\\.acme\\.example/t/(?P<ref>\\d+)']
  linear:
    integrated_account_id: ia-linear
    query: {workspace_id: ws-1}
    ticket_url_template: https://linear.app/acme/issue/{ref}
channels:
  C0LINEAR: linear
"""


def test_yaml_accounts_and_routing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "ticketbot.yml"
    path.write_text(YAML)
    monkeypatch.setenv("TICKETBOT_CONFIG", str(path))
    config = load_config()
    linear = config.account_for_channel("C0LINEAR")
    assert (
        linear is not None
        and linear.name == "linear"
        and linear.query.for_operation("update") == {"workspace_id": "ws-1"}
    )
    assert linear.ticket_url("ENG-7") == "https://linear.app/acme/issue/ENG-7"
    jira = config.account_for_channel("C0OTHER")
    assert jira is not None and jira.integrated_account_id == "ia-jira"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        (
            {"TRUTO_BASE_URL": "ftp://x"},
            "TRUTO_BASE_URL: must be an http(s) URL such as https://example.com, got 'ftp://x'",
        ),
        (
            {"SLACK_API_URL": "slack.com"},
            "SLACK_API_URL: must be an http(s) URL such as https://example.com, got 'slack.com'",
        ),
        (
            {"REDIS_URL": "localhost:6379"},
            "REDIS_URL: must start with redis://, rediss:// or unix://, got 'localhost:6379'",
        ),
        ({"LOG_LEVEL": "loud"}, "LOG_LEVEL: Input should be 'DEBUG', 'INFO', 'WARNING' or 'ERROR'"),
        ({"TRUTO_TIMEOUT": "0"}, "TRUTO_TIMEOUT: Input should be greater than 0"),
    ],
)
def test_bad_environment_values(monkeypatch: pytest.MonkeyPatch, env: dict[str, str], message: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("accounts: {jira: {}}", "accounts.jira.integrated_account_id: Field required"),
        ("accounts: {jira: {integrated_account_id: a, colour: red}}", "accounts.jira.colour: Extra inputs"),
        (
            "accounts: {jira: {integrated_account_id: a, link_patterns: ['https://x/(\\d+)']}}",
            "needs a named group (?P<ref>...) for the ticket id",
        ),
        (
            "accounts: {jira: {integrated_account_id: a, link_patterns: ['(']}}",
            "is not a valid regular expression",
        ),
        (
            "accounts: {jira: {integrated_account_id: a, ticket_url_template: 'https://x/'}}",
            "ticket_url_template: must contain {ref}",
        ),
        (
            "accounts: {jira: {integrated_account_id: a}}\nchannels: {C1: nope}",
            "channels.C1: no account named 'nope'",
        ),
        ("default_account: nope", "default_account: no account named 'nope' (known: none)"),
        ("- a list", "must hold a mapping at the top level"),
        ("accounts: [", "is not valid YAML"),
    ],
)
def test_bad_yaml_values(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, yaml_text: str, message: str
) -> None:
    path = tmp_path / "ticketbot.yml"
    path.write_text(yaml_text)
    monkeypatch.setenv("TICKETBOT_CONFIG", str(path))
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert message in str(caught.value)
    assert str(caught.value).startswith("TICKETBOT_CONFIG")


def test_missing_yaml_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TICKETBOT_CONFIG", str(tmp_path / "absent.yml"))
    with pytest.raises(ConfigError, match=r"TICKETBOT_CONFIG: cannot read .*absent\.yml"):
        load_config()
