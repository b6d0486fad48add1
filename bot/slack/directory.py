"""Slack users as the bot needs them, cached: their email (users.info: how a Slack user becomes a
ticketing user) and the other way round (users.lookupByEmail), whether they are a workspace
admin, the channels they are in, group members."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.errors import UnknownSlackUser
from bot.store import keys
from bot.store.cache import Cache

log = logging.getLogger(__name__)

UNKNOWN_USER = frozenset({"user_not_found", "user_not_visible"})


USERGROUP_SECONDS = 60.0


class SlackUserDirectory:
    def __init__(self, client: AsyncWebClient, cache: Cache, *, ttl: float = 3600.0) -> None:
        self.client = client
        self.cache = cache
        self.ttl = ttl

    async def _profile(self, slack_user_id: str) -> dict[str, Any]:
        async def fetch() -> dict[str, Any]:
            try:
                response = await self.client.users_info(user=slack_user_id)
            except SlackApiError as exc:
                error = exc.response.get("error")
                log.warning("users.info failed for %s: %s", slack_user_id, error)
                return {"email": None, "admin": False, "unknown": error in UNKNOWN_USER}
            user = response.get("user") or {}
            profile = user.get("profile") or {}
            return {
                "email": profile.get("email"),
                "admin": bool(user.get("is_admin") or user.get("is_owner")),
                "tz": user.get("tz"),
            }

        key = keys.key("slack", "user", slack_user_id)
        data: dict[str, Any] = await self.cache.get_or_fetch(key, fetch, ttl=self.ttl, stale_for=self.ttl)
        return data

    async def email_of(self, slack_user_id: str) -> str | None:
        """The profile's email; UnknownSlackUser when Slack does not know the user at all."""
        profile = await self._profile(slack_user_id)
        if profile.get("unknown"):
            raise UnknownSlackUser(
                f"Slack does not know the user <@{slack_user_id}> (no such user in this workspace)"
            )
        email = profile.get("email")
        return str(email) if email else None

    async def user_by_email(self, email: str, team: str | None) -> str | None:
        """The Slack user with this email in `team`'s workspace (the same email may be another
        user in another workspace: the cache is per team), or None."""

        async def fetch() -> dict[str, Any]:
            try:
                response = await self.client.users_lookupByEmail(email=email)
            except SlackApiError as exc:
                error = exc.response.get("error")
                if error != "users_not_found":
                    log.warning("users.lookupByEmail failed: %s", error)
                return {"user": None}
            return {"user": (response.get("user") or {}).get("id")}

        key = keys.key("slack", "by-email", team or "-", email.casefold())
        found = await self.cache.get_or_fetch(key, fetch, ttl=self.ttl, stale_for=self.ttl)
        user = found.get("user")
        return str(user) if user else None

    async def tz_of(self, slack_user_id: str) -> str | None:
        """The IANA time zone of the user's Slack profile, when Slack says."""
        tz = (await self._profile(slack_user_id)).get("tz")
        return tz if isinstance(tz, str) and tz else None

    async def is_admin(self, slack_user_id: str) -> bool:
        """A workspace admin or owner (users.info)."""
        return bool((await self._profile(slack_user_id)).get("admin"))

    async def channels_of(self, slack_user_id: str) -> frozenset[str] | None:
        """The channels a user is in (users.conversations, public and private the bot shares),
        cached a minute; None when Slack does not say."""

        async def fetch() -> dict[str, Any]:
            found: list[str] = []
            cursor = None
            try:
                for _ in range(20):  # 20 pages of 200: enough for anyone
                    response = await self.client.users_conversations(
                        user=slack_user_id, types="public_channel,private_channel", limit=200, cursor=cursor
                    )
                    found += [str(c.get("id")) for c in response.get("channels") or []]
                    cursor = (response.get("response_metadata") or {}).get("next_cursor")
                    if not cursor:
                        break
            except SlackApiError as exc:
                log.warning("users.conversations failed for %s: %s", slack_user_id, exc.response.get("error"))
                return {"known": False, "channels": []}
            return {"known": True, "channels": found}

        key = keys.key("slack", "channels", slack_user_id)
        data = await self.cache.get_or_fetch(key, fetch, ttl=USERGROUP_SECONDS, stale_for=0.0)
        return frozenset(data["channels"]) if data.get("known") else None

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
