"""Single-workspace mode's parts beside the Bolt app: the installation's team (auth.test) and,
where a database is named and an account lets people act as themselves, people's own
connections (`/ticket connect`) kept in it."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy.exc import SQLAlchemyError

from bot.ops.config import AppConfig, ConfigError, has_database
from bot.slack.installation_team import InstallationTeam
from bot.store.sql.database import Database, database_url, unusable
from bot.store.sql.personal_connections import PersonalConnections
from handlers.ingress.own_accounts import OneWorkspace, OwnAccounts
from handlers.kit.deps import SlackDeps


@dataclass
class Single:
    own: OwnAccounts | None
    database: Database | None

    async def prepare(self) -> None:
        """The schema brought up to date (start-up); connections handed back."""
        if self.database is None:
            return
        try:
            await self.database.upgrade()
        except (OSError, TimeoutError, SQLAlchemyError) as exc:
            raise ConfigError(unusable(self.database.url, exc)) from None
        finally:
            await self.database.aclose()


def offers_own_accounts(config: AppConfig) -> bool:
    return has_database(config.settings) and any(a.identity != "shared" for a in config.accounts.values())


def build_single(config: AppConfig, deps: SlackDeps, client: AsyncWebClient) -> Single:
    deps.installation = InstallationTeam(client)
    if not offers_own_accounts(config):
        return Single(None, None)
    settings = config.settings
    database = Database(database_url(settings.database_url, settings.ticketbot_data_dir))
    deps.personal = PersonalConnections(database)
    own = OwnAccounts(deps, deps.personal, OneWorkspace(deps, client))
    deps.own_accounts = own
    return Single(own, database)
