"""Slack user emails (users.info), cached: how a Slack user becomes a ticketing user."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.store import keys
from bot.store.cache import Cache

log = logging.getLogger(__name__)


USERGROUP_SECONDS = 60.0


class SlackUserDirectory:
    def __init__(self, client: AsyncWebClient, cache: Cache, *, ttl: float = 3600.0) -> None:
        self.client = client
        self.cache = cache
        self.ttl = ttl

    async def email_of(self, slack_user_id: str) -> str | None:
        async def fetch() -> dict[str, Any]:
            try:
                response = await self.client.users_info(user=slack_user_id)
            except SlackApiError as exc:
                log.warning("users.info failed for %s: %s", slack_user_id, exc.response.get("error"))
                return {"email": None}
            profile = (response.get("user") or {}).get("profile") or {}
            return {"email": profile.get("email")}

        key = keys.key("slack", "user", slack_user_id)
        data = await self.cache.get_or_fetch(key, fetch, ttl=self.ttl, stale_for=self.ttl)
        email = data.get("email")
        return str(email) if email else None

    async def members_of(self, usergroup_id: str) -> frozenset[str]:
        """Members of a Slack user group (usergroups.users.list), cached."""

        async def fetch() -> list[str]:
            try:
                response = await self.client.usergroups_users_list(usergroup=usergroup_id)
            except SlackApiError as exc:
                log.warning(
                    "usergroups.users.list failed for %s: %s", usergroup_id, exc.response.get("error")
                )
                return []
            return [str(user) for user in response.get("users") or []]

        key = keys.key("slack", "usergroup", usergroup_id)
        # A minute: someone removed from a group that may update loses that right within it.
        members = await self.cache.get_or_fetch(key, fetch, ttl=USERGROUP_SECONDS, stale_for=0.0)
        return frozenset(members)
