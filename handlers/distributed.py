"""Distributed mode's parts, built from the configuration: the database and its stores, the
workspaces, Bolt's OAuth flow ("Add to Slack" at /slack/install, Slack's answer at
/slack/oauth_redirect, both through the same Slack API URL as every other call), the tenancy
and the connection flow."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from slack_bolt.adapter.starlette.async_handler import to_async_bolt_request, to_starlette_response
from slack_bolt.authorization import AuthorizeResult
from slack_bolt.authorization.async_authorize import AsyncAuthorize
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_sdk.oauth.token_rotation.async_rotator import AsyncTokenRotator
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot.domain.tenants import tenant_of
from bot.ops.config import AppConfig, ConfigError
from bot.service.workspaces import Workspaces
from bot.store.announcements import Announcements
from bot.store.quota import UserQuota
from bot.store.shared_workspaces import SharedWorkspaces
from bot.store.sql.cipher import WRONG_KEY, CipherError, TokenCipher
from bot.store.sql.database import Database, database_url, unusable
from bot.store.sql.installations import SealedInstallationStore, oauth_state_store
from bot.store.sql.personal_connections import PersonalConnections
from bot.store.sql.settings_store import SettingsStore
from bot.store.sql.team_accounts import TeamAccounts
from handlers.ingress.connections import Connections
from handlers.kit.deps import SlackDeps
from handlers.kit.tenancy import Tenancy

log = logging.getLogger(__name__)
INSTALL_PATH = "/slack/install"
TOO_MANY_INSTALLS = "Too many install links were opened from here just now; try again in a minute.\n"
REDIRECT_PATH = "/slack/oauth_redirect"
# The manifest's bot scopes (manifest.yml), asked for when SLACK_SCOPES is not set.
BOT_SCOPES = (
    "commands,chat:write,users:read,users:read.email,links:read,links:write,usergroups:read,"
    "channels:read,groups:read,reactions:read,channels:history,groups:history"
)


@dataclass
class Distributed:
    database: Database
    workspaces: Workspaces
    tenancy: Tenancy
    connections: Connections
    flow: AsyncOAuthFlow
    authorize: TenantAuthorize
    store: SealedInstallationStore
    # Install links one client (as the trusted proxies name it) may open a minute: each is a row.
    install_quota: UserQuota

    def routes(self) -> list[Route]:
        async def install(request: Request) -> Response:
            client = request.client.host if request.client else "-"
            if not await self.install_quota.allow("install", client):
                return PlainTextResponse(TOO_MANY_INSTALLS, status_code=429, headers={"Retry-After": "60"})
            bolt_request = to_async_bolt_request(request, b"", {})
            return to_starlette_response(await self.flow.handle_installation(bolt_request))

        async def redirect(request: Request) -> Response:
            bolt_request = to_async_bolt_request(request, b"", {})
            return to_starlette_response(await self.flow.handle_callback(bolt_request))

        return [
            Route(INSTALL_PATH, install, methods=["GET"]),
            Route(REDIRECT_PATH, redirect, methods=["GET"]),
        ]

    async def prepare(self) -> None:
        """The schema brought up to date (start-up) and the stored tokens opened with the key,
        connections handed back (the server's event loop opens its own)."""
        try:
            await self.database.upgrade()
            await self.store.check_key()
        except CipherError:
            raise ConfigError(WRONG_KEY) from None
        except (OSError, TimeoutError, SQLAlchemyError) as exc:
            raise ConfigError(unusable(self.database.url, exc)) from None
        except Exception as exc:  # the driver's own (asyncpg: a database that does not exist)
            if type(exc).__module__.split(".")[0] != "asyncpg":
                raise
            raise ConfigError(unusable(self.database.url, exc)) from None
        finally:
            await self.database.aclose()


def build_distributed(config: AppConfig, deps: SlackDeps, client: AsyncWebClient) -> Distributed:
    settings = config.settings
    assert settings.slack_client_id and settings.slack_client_secret and settings.ticketbot_encryption_key
    client_id, client_secret = settings.slack_client_id, settings.slack_client_secret.get_secret_value()
    database = Database(database_url(settings.database_url, settings.ticketbot_data_dir))
    cipher = TokenCipher(settings.ticketbot_encryption_key.get_secret_value())
    store = SealedInstallationStore(database, client_id, cipher)
    workspaces = Workspaces(
        config,
        store,
        TeamAccounts(database),
        SettingsStore(database),
        Announcements(deps.core.redis),
        AsyncTokenRotator(client_id=client_id, client_secret=client_secret, client=client),
        rotate_minutes=settings.slack_token_rotation_minutes,
        kept_size=settings.workspaces_kept,
        shared=SharedWorkspaces(deps.core.redis, cipher.fingerprint) if deps.core.redis is not None else None,
    )
    store.saved = workspaces.changed  # an install or reinstall: every process reads it again
    scopes = [s.strip() for s in (settings.slack_scopes or BOT_SCOPES).split(",") if s.strip()]
    flow = AsyncOAuthFlow(
        client=client,
        settings=AsyncOAuthSettings(
            client_id=client_id,
            client_secret=client_secret,
            scopes=scopes,
            installation_store=store,
            state_store=oauth_state_store(database),
            install_path=INSTALL_PATH,
            redirect_uri_path=REDIRECT_PATH,
            token_rotation_expiration_minutes=settings.slack_token_rotation_minutes,
        ),
    )
    deps.personal = PersonalConnections(database)
    tenancy = Tenancy(deps, workspaces, client)
    connections = Connections(tenancy, deps.personal)
    deps.onboarding = connections
    deps.own_accounts = connections.own
    install_quota = UserQuota(deps.core.redis, settings.slack_installs_per_client_per_minute)
    return Distributed(
        database, workspaces, tenancy, connections, flow, TenantAuthorize(workspaces), store, install_quota
    )


class TenantAuthorize(AsyncAuthorize):
    def __init__(self, workspaces: Workspaces) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.workspaces = workspaces

    async def __call__(
        self,
        *,
        context: Any,
        enterprise_id: str | None,
        team_id: str | None,
        user_id: str | None = None,
        **_: Any,
    ) -> AuthorizeResult | None:
        org = bool(context.get("is_enterprise_install"))
        try:
            tenant = tenant_of(team_id, enterprise_id, org)
        except ValueError:
            return None
        bot = await self.workspaces.bot(tenant)
        if bot is None:
            log.info("request from %s, which has not installed the app; refused", tenant)
            return None
        return AuthorizeResult(
            enterprise_id=enterprise_id,
            team_id=team_id,
            bot_token=bot.bot_token,
            bot_id=bot.bot_id,
            bot_user_id=bot.bot_user_id,
            bot_scopes=bot.bot_scopes,
            user_id=user_id,
        )
