"""Typed configuration: environment variables plus an optional YAML file.

Loaded once by `load_config()` at start-up and passed down; nothing else reads the
environment. Any bad value raises `ConfigError` with one message naming each key.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.domain.accounts import Account, Identity, http_url
from bot.domain.redact import mask_url_credentials
from bot.domain.refs import tool_of_url

DEFAULT_ACCOUNT_NAME = "default"


class ConfigError(Exception):
    """The configuration cannot be used; the message names every offending key."""


class Settings(BaseSettings):
    """Environment variables (names are a public interface: see README)."""

    # An empty variable (`SLACK_SIGNING_SECRET=`, as .env.example ships it) is not set.
    model_config = SettingsConfigDict(
        case_sensitive=False, extra="ignore", env_file=None, env_ignore_empty=True
    )

    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    # Distributed mode ("Add to Slack" for any number of workspaces): Bolt's own names.
    slack_client_id: str | None = None
    slack_client_secret: SecretStr | None = None
    slack_scopes: str | None = None  # comma separated; default: the manifest's bot scopes
    slack_token_rotation_minutes: int = Field(default=120, ge=1)  # rotate a token this long before expiry
    database_url: str | None = None  # unset: SQLite in TICKETBOT_DATA_DIR (or the working directory)
    ticketbot_data_dir: Path | None = None
    ticketbot_encryption_key: SecretStr | None = None  # Fernet keys, comma separated (first encrypts)
    # Where a link token opens Truto's hosted connect page (the sandbox serves one of its own).
    truto_connect_url: str = "https://app.truto.one/connect-account"
    slack_api_url: str = "https://slack.com/api/"
    truto_api_token: SecretStr | None = None
    truto_base_url: str = "https://api.truto.one"
    truto_integrated_account_id: str | None = None
    truto_connect_timeout: float = Field(default=5.0, gt=0)
    truto_timeout: float = Field(default=15.0, gt=0)
    redis_url: str | None = None
    redis_namespace: str | None = Field(default=None, pattern=r"^[A-Za-z0-9_.-]{1,40}$")
    redis_cluster: bool = False  # REDIS_URL names a node of a Redis Cluster
    redis_sentinel: str | None = Field(default=None, pattern=r"^[^,:\s]+:\d+(,[^,:\s]+:\d+)*$")
    redis_sentinel_master: str = "mymaster"
    redis_max_connections: int = Field(default=64, ge=4)  # per process; past it, commands wait
    ticketbot_config: Path | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    port: int | None = Field(default=None, ge=1, le=65535)  # PORT, for `ticketbot serve`
    worker_concurrency: int = Field(default=32, ge=1, le=256)
    worker_processes: int = Field(default=1, ge=0, le=32)  # with Redis; 0: jobs run in the HTTP process
    job_reclaim_seconds: float = Field(default=5.0, gt=0)  # a dead worker's job is taken over after
    drain_seconds: float = Field(default=20.0, ge=0)  # on SIGTERM, running jobs get this long
    truto_rate_limit: int = Field(default=50, ge=0)  # requests per window per account; 0: no limit
    truto_rate_window_seconds: float = Field(default=10.0, gt=0)
    preview_above_fields: int = Field(default=5, ge=1)  # more changes than this: preview first
    undo_minutes: int = Field(default=15, ge=0)  # how long a card's Undo works; 0: no Undo
    http_max_body_bytes: int = Field(default=1024 * 1024, ge=1024)  # larger Slack requests get 413
    http_read_timeout_seconds: float = Field(default=10.0, gt=0)  # for a request's head
    http_body_timeout_seconds: float = Field(default=3.0, gt=0)  # for its body (sent at once by Slack)
    # Bytes all bodies not yet verified may hold at once in a process; past it, 503 at once.
    http_unverified_bytes: int = Field(default=12 * 1024 * 1024, ge=64 * 1024)
    http_max_connections: int = Field(default=1000, ge=1)  # beyond this, `serve` answers 503
    # Requests one client address may have open at once (0, the default: no cap). Behind a proxy
    # every request has the proxy's address: the cap then counts the client a trusted proxy names
    # (`forwarded_allow_ips`), never a header from anyone else. With a cap, one address may also
    # hold at most a quarter of the unverified-bytes budget.
    http_max_connections_per_client: int = Field(default=0, ge=0)
    # Proxies whose X-Forwarded-For is believed (uvicorn's FORWARDED_ALLOW_IPS: addresses or
    # networks, comma-separated, or *); uvicorn's own default.
    forwarded_allow_ips: str = "127.0.0.1"
    metrics_token: SecretStr | None = None  # when set, /metrics wants `Authorization: Bearer <it>`
    http_keep_alive_seconds: int = Field(default=5, ge=1)
    user_quota_per_minute: int = Field(default=60, ge=0)  # requests that start work; 0: no quota
    # "Add to Slack" links (/slack/install) one client may open a minute (each stores a state row
    # for ten minutes; at most 5,000 are kept in all, the oldest swept); 0: no limit.
    slack_installs_per_client_per_minute: int = Field(default=20, ge=0)
    memory_job_limit: int = Field(default=1000, ge=1)  # jobs kept in the process while Redis is away
    rate_budget_wait_seconds: float = Field(default=60.0, gt=0)  # longest wait for the API budget
    job_patience_seconds: float = Field(default=180.0, gt=0)  # a job waits out 429s this long in all
    truto_token_rate_limit: int = Field(default=500, ge=0)  # per API token per window; 0: no limit
    lookup_ttl_seconds: float = Field(default=600.0, gt=0)
    snapshot_ttl_seconds: float = Field(default=300.0, gt=0)
    # Live cards: the secrets of the unified API's webhooks (comma separated, for rotation).
    truto_webhook_secret: SecretStr | None = None
    webhook_max_age_seconds: float = Field(default=300.0, gt=0)  # older events are refused (replays)
    webhook_coalesce_seconds: float = Field(default=1.0, ge=0)  # a burst for one ticket: one GET
    card_registry_days: float = Field(default=14.0, gt=0)  # how long a card is kept up to date
    card_registry_cap: int = Field(default=20, ge=1, le=200)  # the most recent cards per ticket
    channel_card: Literal["full", "compact", "none"] = "compact"  # after an update, in the channel
    bulk_max_tickets: int = Field(default=50, ge=2, le=200)  # tickets in one bulk update
    bulk_preview_above: int = Field(default=3, ge=1)  # bulk updates of more tickets are previewed
    bulk_budget_share: float = Field(default=0.6, gt=0, le=1)  # of an account's API budget, at most
    subscriptions_per_channel: int = Field(default=20, ge=1)
    subscriptions_per_workspace: int = Field(default=500, ge=1)
    subscription_post_seconds: float = Field(default=1.0, ge=0)  # a channel's lines, at most one per
    subscription_backlog: int = Field(default=10, ge=1)  # lines waiting for a channel before a summary
    # Kept in each process, the least recently used dropped first: workspaces' state and wiring
    # (distributed mode), and accounts' parsed lists and capabilities.
    workspaces_kept: int = Field(default=3_500, ge=1)  # 10-17 KB of RSS each: 35-58 MiB
    accounts_kept: int = Field(default=2_000, ge=1)

    @property
    def webhook_secrets(self) -> list[str]:
        raw = self.truto_webhook_secret.get_secret_value() if self.truto_webhook_secret else ""
        return [part.strip() for part in raw.split(",") if part.strip()]

    @property
    def distributed(self) -> bool:
        """Installed by OAuth into any number of workspaces (else one workspace, one bot token)."""
        return bool(self.slack_client_id)

    @field_validator("slack_client_id", mode="before")
    @classmethod
    def _blank_client_id(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("ticketbot_encryption_key")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        """Each key 32 bytes in url-safe base64 (what `ticketbot db new-key` prints); the key
        itself is never repeated in the answer."""
        if value is None:
            return None
        for n, part in enumerate((p.strip() for p in value.get_secret_value().split(",")), start=1):
            try:
                raw = base64.urlsafe_b64decode(part.encode())
            except (ValueError, binascii.Error):
                raw = b""
            if len(raw) != 32:
                raise ValueError(
                    f"key {n} is not a key (32 url-safe base64 bytes): make one with `ticketbot db new-key`"
                )
        return value

    @field_validator("slack_api_url", "truto_base_url", "truto_connect_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        return http_url(value)

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        if not re.match(r"^(redis|rediss|unix)://", value):
            raise ValueError(
                f"must start with redis://, rediss:// or unix://, got {mask_url_credentials(value)!r}"
            )
        return value

    @field_validator("redis_namespace", "redis_sentinel", mode="before")
    @classmethod
    def _blank_namespace(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class FileConfig(BaseModel):
    """The YAML file named by TICKETBOT_CONFIG."""

    model_config = ConfigDict(extra="forbid")

    default_account: str | None = None
    # Who acts on the tools (single-workspace mode), for every account without its own:
    # personal-preferred (the default), shared or personal-required (docs/security.md).
    identity: Identity | None = None
    accounts: dict[str, Account] = Field(default_factory=dict)
    channels: dict[str, str] = Field(default_factory=dict)


class AppConfig(BaseModel):
    """Everything the bot needs, validated together."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    settings: Settings
    accounts: dict[str, Account]
    channels: dict[str, str]
    default_account: str | None

    def for_workspace(
        self, accounts: dict[str, Account], channels: dict[str, str], default: str | None
    ) -> AppConfig:
        """One workspace's view in distributed mode: its own accounts and routing (its settings),
        the deployment's settings unchanged."""
        return self.model_copy(
            update={"accounts": accounts, "channels": channels, "default_account": default}
        )

    def account_for_channel(self, channel_id: str | None) -> Account | None:
        name = self.channels.get(channel_id or "", self.default_account)
        return self.accounts.get(name) if name else None

    def account(self, name: str) -> Account | None:
        return self.accounts.get(name)

    def read_only(self, channel_id: str | None) -> bool:
        """A channel read-only for any account is read-only for every account's tickets."""
        return bool(channel_id) and any(
            channel_id in a.permissions.read_only_channels for a in self.accounts.values()
        )

    def account_for_url(self, url: str) -> Account | None:
        """The account a ticket URL belongs to: one of its link patterns matches, or the URL
        starts like its ticket_url_template."""
        for account in self.accounts.values():
            if any(re.search(pattern, url) for pattern in account.link_patterns):
                return account
        for account in self.accounts.values():
            template = account.ticket_url_template
            if template and url.startswith(template.split("{ref}", 1)[0]):
                return account
        # A tool's own URL shape (any Linear workspace's issue URL): the one account of that tool.
        tool = tool_of_url(url)
        same = [a for a in self.accounts.values() if tool and a.display_tool.casefold().startswith(tool)]
        return same[0] if len(same) == 1 else None

    def account_for_ref(self, url: str | None, channel_id: str | None) -> Account | None:
        """A URL goes to the account whose links it matches; a bare key to the channel's."""
        return (self.account_for_url(url) if url else None) or self.account_for_channel(channel_id)


def secret_values(settings: Settings) -> list[str]:
    """Every configured secret, for the log redactor."""
    secrets = [
        settings.slack_bot_token,
        settings.slack_signing_secret,
        settings.slack_app_token,
        settings.truto_api_token,
        settings.truto_webhook_secret,
        settings.metrics_token,
        settings.slack_client_secret,
        settings.ticketbot_encryption_key,
    ]
    values = [
        v.strip() for s in secrets if s is not None for v in s.get_secret_value().split(",") if v.strip()
    ]
    if settings.redis_url and "@" in settings.redis_url:
        values.append(settings.redis_url.split("@", 1)[0].rsplit(":", 1)[-1])  # a password in the URL
    return values


def _format_errors(error: ValidationError, prefix: str, env_style: bool) -> list[str]:
    lines = []
    for item in error.errors():
        loc = ".".join(str(part) for part in item["loc"])
        key = loc.upper() if env_style else loc
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"{prefix}{key}: {message}")
    return lines


def _read_yaml(path: Path) -> Mapping[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"TICKETBOT_CONFIG: cannot read {path}: {exc.strerror}") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"TICKETBOT_CONFIG: {path} is not valid YAML: {exc}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"TICKETBOT_CONFIG: {path} must hold a mapping at the top level")
    return data


_CHANNEL_ID = re.compile(r"[CGD][A-Z0-9]+")


def _check_references(raw: Mapping[str, Any], accounts: Collection[str]) -> list[str]:
    """What the schema cannot see: channels by id, and names of accounts that exist. Read from
    the file as written, so these are listed with the schema's problems, all at once."""
    known = ", ".join(sorted(accounts)) or "none"
    channels = raw.get("channels")
    problems = []
    for channel, name in (channels if isinstance(channels, dict) else {}).items():
        if not _CHANNEL_ID.fullmatch(str(channel)):
            problems.append(
                f"channels.{channel}: {str(channel)!r} is not a channel id; channels are listed by id "
                "(C0123ABCD: in Slack, open the channel's details; the id is at the bottom of About)"
            )
        if isinstance(name, str) and name not in accounts:
            problems.append(f"channels.{channel}: no account named {name!r} (known: {known})")
    default = raw.get("default_account")
    if isinstance(default, str) and default not in accounts:
        problems.append(f"default_account: no account named {default!r} (known: {known})")
    return problems


def load_config(**overrides: Any) -> AppConfig:
    """Read the environment (and the YAML file it names) once.

    `overrides` are Settings fields, used by tests and the demo instead of the environment.
    """
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        raise ConfigError("\n".join(_format_errors(exc, "", env_style=True))) from exc
    return build_config(settings)


def missing_to_serve(settings: Settings) -> list[str]:
    """Every setting a server (`serve`, `socket`, `worker`) cannot run without, said at once."""
    problems = []
    if settings.slack_signing_secret is None:
        problems.append("SLACK_SIGNING_SECRET: not set (Basic Information → Signing Secret)")
    if not settings.distributed and settings.slack_bot_token is None:
        problems.append(
            "SLACK_BOT_TOKEN: not set (the Bot User OAuth Token, xoxb-…, after installing the app; or "
            "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to install into many workspaces)"
        )
    if settings.truto_api_token is None:
        problems.append("TRUTO_API_TOKEN: not set (the API token of the unified ticketing API)")
    return problems


def check_mode(settings: Settings) -> list[str]:
    """One mode at a time, with what it needs."""
    if not settings.distributed:
        return []
    problems = []
    if settings.slack_bot_token is not None:
        problems.append(
            "SLACK_BOT_TOKEN and SLACK_CLIENT_ID are both set: set SLACK_BOT_TOKEN for one workspace, "
            "or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET to install into many, not both"
        )
    if settings.slack_client_secret is None:
        problems.append("SLACK_CLIENT_SECRET: not set (Basic Information → App Credentials → Client Secret)")
    if settings.ticketbot_encryption_key is None:
        problems.append(
            "TICKETBOT_ENCRYPTION_KEY: not set (bot tokens are stored encrypted; make a key with "
            "`ticketbot db new-key`)"
        )
    if settings.truto_integrated_account_id:
        problems.append(
            "TRUTO_INTEGRATED_ACCOUNT_ID: not used when installing into many workspaces (each workspace "
            "connects its own accounts from the Home tab); unset it"
        )
    return problems


def _default_identity(file_config: FileConfig, account: Account) -> dict[str, Any]:
    """The file's top-level `identity:` for an account that does not set its own."""
    if file_config.identity is None or "identity" in account.model_fields_set:
        return {}
    return {"identity": file_config.identity}


def _identity_problems(settings: Settings, file_config: FileConfig) -> list[str]:
    problems = [
        f"accounts.{name}.acting_as: set by the bot for a person's own connection, never configured"
        for name, account in file_config.accounts.items()
        if account.acting_as is not None
    ]
    required = file_config.identity == "personal-required" or any(
        a.identity == "personal-required" for a in file_config.accounts.values()
    )
    if required and not settings.distributed and not has_database(settings):
        problems.append(
            "identity: personal-required needs people's own connections, which are kept in a "
            "database: set DATABASE_URL, or TICKETBOT_DATA_DIR for SQLite there (or use "
            "personal-preferred or shared)"
        )
    return problems


def has_database(settings: Settings) -> bool:
    """A database is named (single-workspace mode keeps people's own connections only then)."""
    return bool(settings.database_url or settings.ticketbot_data_dir)


def build_config(settings: Settings) -> AppConfig:
    mode_problems = check_mode(settings)
    if mode_problems:
        raise ConfigError("\n".join(mode_problems))
    file_config = FileConfig()
    path = settings.ticketbot_config
    raw = _read_yaml(path) if path is not None else {}
    problems = []
    try:
        file_config = FileConfig.model_validate(raw)
    except ValidationError as exc:
        problems = _format_errors(exc, "", env_style=False)
    named = raw.get("accounts")
    account_names = {str(name) for name in named} if isinstance(named, dict) else set()
    if settings.truto_integrated_account_id:
        account_names.add(DEFAULT_ACCOUNT_NAME)
    problems += _check_references(raw, account_names)
    problems += _identity_problems(settings, file_config)
    if problems:
        raise ConfigError("\n".join(f"TICKETBOT_CONFIG ({path}): {p}" for p in problems))
    accounts = {
        name: acc.model_copy(update={"name": name, **_default_identity(file_config, acc)})
        for name, acc in file_config.accounts.items()
    }
    if settings.truto_integrated_account_id and DEFAULT_ACCOUNT_NAME not in accounts:
        accounts[DEFAULT_ACCOUNT_NAME] = Account(
            name=DEFAULT_ACCOUNT_NAME, integrated_account_id=settings.truto_integrated_account_id
        )
    default = file_config.default_account
    if default is None and DEFAULT_ACCOUNT_NAME in accounts:
        default = DEFAULT_ACCOUNT_NAME
    if default is None and len(accounts) == 1:
        default = next(iter(accounts))
    return AppConfig(
        settings=settings,
        accounts=accounts,
        channels=dict(file_config.channels),
        default_account=default,
    )
