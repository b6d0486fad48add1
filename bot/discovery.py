"""What each connected tool accepts, discovered per account and cached for an hour:
whether its tickets can be updated at all (capabilities), which body fields an update takes,
which query parameters it requires, and which fields go as plain strings (tickets/meta/update)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.cache import Cache
from bot.config import Account
from bot.lookups import cache_key
from bot.truto import TrutoClient
from bot.truto_errors import NotAllowed, NotFound, TrutoError

TTL = 3600.0


def supports_update(capabilities: Any) -> bool | None:
    """Whether a capabilities answer lists `update` for tickets; None when it does not say."""
    if isinstance(capabilities, dict):
        for key, value in capabilities.items():
            if key == "tickets":
                methods = value.get("methods", value) if isinstance(value, dict) else value
                return "update" in (methods or [])
            found = supports_update(value)
            if found is not None:
                return found
    return None


@dataclass(frozen=True)
class Abilities:
    can_update: bool = True
    body_fields: frozenset[str] | None = None  # None: the tool did not say; nothing is refused
    string_fields: frozenset[str] = frozenset()  # fields the schema types as a plain string
    required_query: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "can_update": self.can_update,
            "body_fields": sorted(self.body_fields) if self.body_fields is not None else None,
            "string_fields": sorted(self.string_fields),
            "required_query": list(self.required_query),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Abilities:
        fields = data.get("body_fields")
        return cls(
            can_update=bool(data.get("can_update", True)),
            body_fields=frozenset(fields) if fields is not None else None,
            string_fields=frozenset(data.get("string_fields") or ()),
            required_query=tuple(data.get("required_query") or ()),
        )


def abilities_from(capabilities: Any, meta: dict[str, Any] | None) -> Abilities:
    can_update = supports_update(capabilities)
    if meta is None:
        return Abilities(can_update=can_update is not False)
    body = meta.get("request_body_schema") or {}
    properties = body.get("properties") or {}
    query = meta.get("query_schema") or {}
    return Abilities(
        can_update=can_update is not False,
        body_fields=frozenset(properties) if properties else None,
        string_fields=frozenset(
            name
            for name, spec in properties.items()
            if isinstance(spec, dict) and spec.get("type") == "string"
        ),
        required_query=tuple(query.get("required") or ()),
    )


class Discovery:
    def __init__(self, client: TrutoClient, cache: Cache, *, ttl: float = TTL) -> None:
        self.client = client
        self.cache = cache
        self.ttl = ttl

    async def _fetch(self, account: Account) -> dict[str, Any]:
        try:
            capabilities: Any = await self.client.capabilities(account)
        except (NotFound, NotAllowed):
            capabilities = None  # the API does not say: nothing is refused on its account
        try:
            meta: dict[str, Any] | None = await self.client.meta(account, "tickets", "update")
        except (NotFound, NotAllowed):
            meta = None
        return abilities_from(capabilities, meta).to_json()

    async def abilities(self, account: Account) -> Abilities:
        """Cached for an hour; while the API cannot be asked, nothing is refused (not cached)."""
        try:
            data = await self.cache.get_or_fetch(
                cache_key(account, "discovery", "tickets.update"),
                lambda: self._fetch(account),
                ttl=self.ttl,
                stale_for=self.ttl,
            )
        except TrutoError:
            return Abilities()
        return Abilities.from_json(data)

    async def refresh(self, account: Account) -> Abilities:
        data = await self.cache.refresh(
            cache_key(account, "discovery", "tickets.update"),
            lambda: self._fetch(account),
            ttl=self.ttl,
            stale_for=self.ttl,
        )
        return Abilities.from_json(data)
