"""Slack users as the bot needs them, cached: their email (users.info: how a Slack user becomes a
ticketing user) and the other way round (users.lookupByEmail), whether they are a workspace
admin or a guest or from another organisation, the channels they are in, group members.

Every fact is cached under the workspace it was read in (`team`): Enterprise Grid user ids are
the same in every workspace of an org, and being admin in one says nothing of another."""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.errors import Refused, UnknownSlackUser
from bot.store import keys
from bot.store.cache import Cache, Entry

log = logging.getLogger(__name__)

UNKNOWN_USER = frozenset({"user_not_found", "user_not_visible"})


USERGROUP_SECONDS = 60.0
# What Slack could not say (or said it does not know) is asked again within a minute.
NEGATIVE_SECONDS = 60.0
TRY_AGAIN = "Slack did not answer who you are just now; try again in a minute"


class SlackUserDirectory:
    def __init__(self, client: AsyncWebClient, cache: Cache, *, team: str = "-", ttl: float = 3600.0) -> None:
        self.client = client
        self.cache = cache
        self.team = team  # the workspace (or Grid org) whose bot token reads: part of every key
        self.ttl = ttl
        # The installation's own team (and Grid org): a user whose home is neither is from another
        # organisation. Single-workspace mode learns it from auth.test, once per process.
        self.home: frozenset[str] = frozenset() if team == "-" else frozenset({team})

    async def _learn_home(self) -> None:
        if self.home:
            return
        try:
            answer = await self.client.auth_test()
        except (SlackApiError, OSError, TimeoutError) as exc:
            log.warning(
                "auth.test failed (%s): users from other organisations known by is_stranger only", exc
            )
            return
        self.home = frozenset(str(t) for t in (answer.get("team_id"), answer.get("enterprise_id")) if t)

    def _key(self, kind: str, *parts: str) -> str:
        return keys.key("slack", kind, self.team, *parts)

    async def _profile(self, slack_user_id: str) -> dict[str, Any]:
        async def fetch() -> dict[str, Any]:
            try:
                response = await self.client.users_info(user=slack_user_id)
            except SlackApiError as exc:
                error = exc.response.get("error")
                log.warning("users.info failed for %s: %s", slack_user_id, error)
                return {"email": None, "admin": False, "unknown": error in UNKNOWN_USER, "failed": True}
            user = response.get("user") or {}
            profile = user.get("profile") or {}
            enterprise = (user.get("enterprise_user") or {}).get("enterprise_id")
            return {
                "email": profile.get("email"),
                "name": profile.get("real_name") or user.get("real_name") or profile.get("display_name"),
                "admin": bool(user.get("is_admin") or user.get("is_owner")),
                "tz": user.get("tz"),
                "guest": bool(user.get("is_restricted") or user.get("is_ultra_restricted")),
                "external": bool(user.get("is_stranger")) or self._elsewhere(user.get("team_id"), enterprise),
            }

        key = self._key("user", slack_user_id)
        data: dict[str, Any] = await self.cache.get_or_fetch(key, fetch, ttl=self.ttl, stale_for=self.ttl)
        if data.get("failed") and not data.get("retry"):
            # Cached a minute at most: a rate limit or an unknown user is not an hour's answer.
            short = Entry({**data, "retry": True}, fresh_until=time.time() + NEGATIVE_SECONDS)
            await self.cache.backend.set(key, short, NEGATIVE_SECONDS)
        return data

    def _elsewhere(self, team_id: Any, enterprise_id: Any) -> bool:
        """A user whose home is another organisation (Slack Connect): neither this workspace nor,
        on Grid, this org. Unknown until the installation's own team is known."""
        if not self.home or not isinstance(team_id, str) or not team_id:
            return False
        return not self.home & {team_id, enterprise_id}

    async def standing(self, slack_user_id: str) -> str | None:
        """Why this person may not change anything by default: "a guest" (a multi- or single-channel
        guest), "from another organisation" (Slack Connect), else None. Refused ("try again")
        when Slack could not say: a permission question is never answered yes by a failure."""
        await self._learn_home()
        profile = await self._profile(slack_user_id)
        if profile.get("failed") and not profile.get("unknown"):
            raise Refused(TRY_AGAIN)
        if profile.get("guest"):
            return "a guest"
        if profile.get("external"):
            return "from another organisation"
        return None

    async def name_of(self, slack_user_id: str) -> str | None:
        """The profile's full name (None where Slack did not say)."""
        name = (await self._profile(slack_user_id)).get("name")
        return str(name) if name else None

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

        key = self._key("by-email", team or "-", email.casefold())
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

        key = self._key("channels", slack_user_id)
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

        key = self._key("usergroup", usergroup_id)
        # A minute: someone removed from a group that may update loses that right within it.
        members = await self.cache.get_or_fetch(key, fetch, ttl=USERGROUP_SECONDS, stale_for=0.0)
        return frozenset(members)
