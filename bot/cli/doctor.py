"""`ticketbot check`: is everything in place? One line per check, ✓ or ✗ with a hint."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.cli import db
from bot.domain.accounts import Account, tool_label_of
from bot.domain.custom_fields import form_fields, ticket_fields
from bot.ops.config import DEFAULT_ACCOUNT_NAME, AppConfig, ConfigError, has_database, load_config
from bot.runtime import build_core
from bot.service.reaction_check import reaction_mistakes
from bot.store import keys, namespaces
from bot.store.redis_client import connect
from bot.truto import webhook_admin
from bot.truto.discovery import account_blocked, account_status, supports_update
from bot.truto.errors import AccountNotFound, NotFound, TrutoError, Unavailable

SLACK_HINTS = {
    "invalid_auth": "SLACK_BOT_TOKEN is not valid: copy the Bot User OAuth Token (xoxb-…) again",
    "not_authed": "SLACK_BOT_TOKEN is empty",
    "account_inactive": "the app was uninstalled or the workspace is gone: install the app again",
    "token_revoked": "the token was revoked: reinstall the app and copy the new token",
}


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    warning: bool = False  # ok, but worth a look: shown as "!" and not counted as a failure

    def line(self, width: int) -> str:
        """One line; a detail of several lines continues under the first, indented."""
        first, *rest = self.detail.splitlines() or [""]
        indent = " " * (width + 4)
        mark = "✗" if not self.ok else "!" if self.warning else "✓"
        return "\n".join([f"{mark} {self.name:<{width}}  {first}", *(indent + r for r in rest)])


def _distributed(config: AppConfig) -> list[Check]:
    s = config.settings
    wanted = [
        ("SLACK_CLIENT_ID", s.slack_client_id, "Basic Information → App Credentials → Client ID"),
        ("SLACK_CLIENT_SECRET", s.slack_client_secret, "Basic Information → App Credentials"),
        ("SLACK_SIGNING_SECRET", s.slack_signing_secret, "Basic Information → Signing Secret"),
        ("TICKETBOT_ENCRYPTION_KEY", s.ticketbot_encryption_key, "`ticketbot db new-key`"),
        ("TRUTO_API_TOKEN", s.truto_api_token, "an API token of the unified ticketing API"),
    ]
    checks = [
        Check("mode", True, "distributed: installed with Add to Slack (/slack/install) into any workspace")
    ]
    checks += [
        Check(name, value is not None, "set" if value is not None else f"missing: {hint}")
        for name, value, hint in wanted
    ]
    checks.append(Check("accounts", True, "per workspace, connected by its admins from the Home tab"))
    return checks


def _required(config: AppConfig) -> list[Check]:
    if config.settings.distributed:
        return _distributed(config)
    s = config.settings
    wanted = [
        ("SLACK_BOT_TOKEN", s.slack_bot_token, "the Bot User OAuth Token (xoxb-…), after installing the app"),
        (
            "SLACK_SIGNING_SECRET",
            s.slack_signing_secret,
            "Basic Information → App Credentials → Signing Secret",
        ),
        ("TRUTO_API_TOKEN", s.truto_api_token, "an API token of the unified ticketing API"),
    ]
    checks = [Check("mode", True, "single workspace (SLACK_BOT_TOKEN)")]
    checks += [
        Check(name, value is not None, "set" if value is not None else f"missing: {hint}")
        for name, value, hint in wanted
    ]
    if config.accounts:
        names = ", ".join(f"{a.name} ({a.integrated_account_id})" for a in config.accounts.values())
        checks.append(Check("accounts", True, names))
        leftover = s.truto_integrated_account_id
        twins = [
            a.name
            for a in config.accounts.values()
            if leftover and a.integrated_account_id == leftover and a.name != DEFAULT_ACCOUNT_NAME
        ]
        if twins:
            checks.append(
                Check(
                    "TRUTO_INTEGRATED_ACCOUNT_ID",
                    True,
                    f"names {leftover}, which TICKETBOT_CONFIG already lists as {twins[0]}; it adds a "
                    f"second account ({DEFAULT_ACCOUNT_NAME}) for the same tool: unset it",
                    warning=True,
                )
            )
    else:
        checks.append(
            Check(
                "accounts",
                False,
                "none: set TRUTO_INTEGRATED_ACCOUNT_ID or list accounts in TICKETBOT_CONFIG",
            )
        )
    return checks


async def _slack(config: AppConfig) -> Check:
    token = config.settings.slack_bot_token
    if token is None:
        return Check("Slack auth.test", False, "skipped: no SLACK_BOT_TOKEN")
    client = AsyncWebClient(token=token.get_secret_value(), base_url=config.settings.slack_api_url)
    try:
        answer = await client.auth_test()
    except SlackApiError as exc:
        error = str(exc.response.get("error"))
        return Check(
            "Slack auth.test", False, f"{error}: {SLACK_HINTS.get(error, 'check the token and the app')}"
        )
    except Exception as exc:
        return Check(
            "Slack auth.test", False, f"cannot reach {config.settings.slack_api_url} ({type(exc).__name__})"
        )
    return Check(
        "Slack auth.test", True, f"@{answer.get('user')} in {answer.get('team') or answer.get('team_id')}"
    )


async def _account(core: Any, account: Account) -> Check:
    name = f"account {account.name}"
    try:
        capabilities = await core.client.capabilities(account)
    except NotFound:
        return Check(name, False, AccountNotFound(account.integrated_account_id).user_message)
    except Unavailable as exc:
        if exc.status is None:  # no answer at all: the address, not the service, is the problem
            url = core.config.settings.truto_base_url
            return Check(name, False, f"cannot reach the unified API at {url} (TRUTO_BASE_URL): {exc.detail}")
        return Check(name, False, f"{exc.user_message} ({exc.detail})")
    except TrutoError as exc:
        return Check(name, False, f"{exc.user_message} ({exc.detail})")
    if account_blocked(capabilities):
        return Check(name, False, "the unified API has blocked this account: reconnect it")
    if supports_update(capabilities) is False:
        return Check(
            name, False, "connected, but its tool does not support ticket updates (show and unfurl only)"
        )
    status = account_status(capabilities)
    if status and status != "active":
        return Check(name, False, f"its status in the unified API is {status}: reconnect it")
    label = tool_label_of(capabilities)
    if account.tool:
        named = f"messages name it {account.tool} (tool in the config)"
    elif label:
        named = f"messages name it {label} (the unified API's label)"
    else:
        named = "messages say 'the ticketing tool' (set tool: in the config to name it)"
    return Check(name, True, f"connected; tickets can be updated; {named}")


async def _reactions(core: Any, account: Account) -> Check:
    """Would the tool take each reaction's update (its values, resolved against its lists)?"""
    name = f"account {account.name} reactions"
    mistakes = await reaction_mistakes(core.service, account)
    if mistakes:
        return Check(name, False, "\n".join(mistakes))
    return Check(
        name, True, ", ".join(f":{emoji}:" for emoji in account.reactions) + " checked against the tool"
    )


async def _form_fields(core: Any, account: Account) -> Check:
    """Do the custom fields the account's edit form should show exist?"""
    name = f"account {account.name} form_custom_fields"
    try:
        definitions = await core.lookups.get(account, "fields")
    except TrutoError as exc:
        return Check(name, False, f"can't read the custom field definitions: {exc.user_message}")
    if not definitions.present:
        return Check(name, False, "the tool lists no custom field definitions: remove the key")
    shown, unknown = form_fields(definitions.items, account.form_custom_fields)
    if unknown:
        known = ", ".join(str(f.get("name")) for f in ticket_fields(definitions.items)) or "none"
        return Check(name, False, f"no custom field named {', '.join(unknown)}; this account has: {known}")
    return Check(name, True, ", ".join(str(f.get("name")) for f in shown))


async def _live_cards(core: Any, config: AppConfig) -> Check:
    """Live cards need both halves: a secret here and a webhook there pointing at this bot."""
    name = "live cards"
    secret = bool(config.settings.webhook_secrets)
    try:
        webhooks = [w for w in await core.client.list_webhooks() if webhook_admin.ours(w)]
    except TrutoError as exc:
        return Check(name, False, f"can't list the webhooks: {exc.user_message}")
    targets = ", ".join(str(w.get("target_url")) for w in webhooks)
    if secret and webhooks:
        return Check(name, True, f"on: the API sends ticket changes to {targets}")
    if webhooks:
        return Check(name, False, f"a webhook points at {targets}, but TRUTO_WEBHOOK_SECRET is not set here")
    if secret:
        return Check(
            name,
            False,
            "TRUTO_WEBHOOK_SECRET is set, but no webhook sends ticket changes to a /truto/webhooks URL: "
            "run `ticketbot webhooks register --url https://…/truto/webhooks`",
        )
    return Check(name, True, "off (optional): `ticketbot webhooks register` keeps cards up to date")


async def _redis(core: Any) -> Check:
    state = await core.redis_ok()
    if state is None:
        return Check(
            "Redis", True, "not configured: caches live in the process (set REDIS_URL for several replicas)"
        )
    if state:
        return Check("Redis", True, "answers")
    return Check("Redis", False, "REDIS_URL is set but Redis does not answer: is it running and reachable?")


async def _redis_alone(config: AppConfig) -> Check:
    """The Redis check when the rest of the core cannot be built (no API token)."""
    settings = config.settings
    if not settings.redis_url:
        return await _redis(_NoRedis())
    client = connect(
        settings.redis_url,
        cluster=settings.redis_cluster,
        sentinel=settings.redis_sentinel,
        sentinel_master=settings.redis_sentinel_master,
    )
    try:
        answers = bool(await client.ping())
    except Exception:
        answers = False
    finally:
        await client.aclose()
    return await _redis(_Answered(answers))


class _NoRedis:
    async def redis_ok(self) -> bool | None:
        return None


@dataclass
class _Answered:
    answers: bool

    async def redis_ok(self) -> bool | None:
        return self.answers


async def _own_connections(config: AppConfig) -> Check:
    """One workspace: where people's own connections are kept, if they are offered."""
    if all(a.identity == "shared" for a in config.accounts.values()):
        return Check("own connections", True, "not offered: every account's identity is shared")
    if not has_database(config.settings):
        return Check(
            "own connections",
            True,
            "not offered: no database named (DATABASE_URL, or TICKETBOT_DATA_DIR for SQLite)",
        )
    ok, detail = await db.check(config)
    return Check("own connections", ok, detail)


async def run_checks(load: Callable[[], AppConfig] = load_config) -> list[Check]:
    try:
        config = load()
    except ConfigError as exc:
        # One failed check that lists every problem, so that one pass fixes them all.
        problems = str(exc).splitlines()
        many = f"{len(problems)} problems:\n" + "\n".join(f"- {p}" for p in problems)
        return [Check("configuration", False, problems[0] if len(problems) == 1 else many)]
    checks = [Check("configuration", True, "loaded"), *_required(config)]
    if config.settings.distributed:
        ok, detail = await db.check(config)
        checks.append(Check("database", ok, detail))
    else:
        checks.append(await _slack(config))
        checks.append(await _own_connections(config))
    if config.settings.truto_api_token is None:
        checks.append(await _redis_alone(config))  # the Redis line always appears
        return checks
    core = build_core(config)
    try:
        for account in config.accounts.values():
            checks.append(await _account(core, account))
            if account.form_custom_fields:
                checks.append(await _form_fields(core, account))
            if account.reactions:
                checks.append(await _reactions(core, account))
        checks.append(await _live_cards(core, config))
        checks.append(await _redis(core))
        if core.redis is not None and checks[-1].ok:
            checks.append(await _namespace(core.redis))
    finally:
        await core.aclose()
    return checks


async def _namespace(client: Any) -> Check:
    """This deployment's Redis namespace, and keys left under another (an earlier configuration's
    history and audit trail would otherwise look lost)."""
    name = "Redis namespace"
    here = keys.current()
    try:
        found = await namespaces.others(client)
    except Exception as exc:
        return Check(name, True, f"{here} (other namespaces could not be listed: {type(exc).__name__})", True)
    if not found:
        return Check(name, True, f"{here}; no keys under any other")
    listed = ", ".join(f"{ns} ({count} keys)" for ns, count in sorted(found.items()))
    return Check(
        name,
        True,
        f"{here}; keys under another namespace: {listed}\n"
        "another deployment's (REDIS_NAMESPACE) or an earlier configuration's: "
        "`ticketbot namespace adopt <name>` moves one's history and audit trail here",
        warning=True,
    )


def render(checks: list[Check]) -> str:
    width = max(len(c.name) for c in checks)
    failed = sum(not c.ok for c in checks)
    summary = "all checks passed" if not failed else f"{failed} of {len(checks)} checks failed"
    return "\n".join([*(c.line(width) for c in checks), "", summary])


async def doctor(out: Callable[[str], None] = print, load: Callable[[], AppConfig] = load_config) -> int:
    checks = await run_checks(load)
    out(render(checks))
    return 0 if all(c.ok for c in checks) else 1
