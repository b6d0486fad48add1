"""What each connected tool accepts, discovered per account and cached for an hour:
whether its tickets can be updated at all (capabilities), which body fields an update takes,
which query parameters it requires, and which fields go as plain strings (tickets/meta/update)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from bot.domain.accounts import Account
from bot.store.cache import Cache
from bot.store.keys import cache_key
from bot.truto.client import TrutoClient
from bot.truto.errors import NotAllowed, NotFound, TrutoError

log = logging.getLogger(__name__)

TTL = 3600.0
BLOCKED_TTL = 60.0  # account state is not cached for long: an unblocked account works again soon


def supports_update(capabilities: Any) -> bool | None:
    """From the documented answer `{"unified": [{model, resource, methods, …}, …]}`: whether
    ticketing/tickets lists `update`. A `unified` list without a tickets entry means no; an
    answer without a `unified` list does not say (None)."""
    if not isinstance(capabilities, dict) or not isinstance(capabilities.get("unified"), list):
        return None
    for entry in capabilities["unified"]:
        if not isinstance(entry, dict) or entry.get("resource") != "tickets":
            continue
        if entry.get("model") not in (None, "ticketing"):
            continue
        methods = entry.get("methods") or []
        return isinstance(methods, list) and "update" in methods
    return False


def account_blocked(capabilities: Any) -> bool:
    """`account.is_blocked` (or a status of "blocked") on the integrated-account answer."""
    account = capabilities.get("account") if isinstance(capabilities, dict) else None
    if not isinstance(account, dict):
        return False
    return account.get("is_blocked") is True or account.get("status") == "blocked"


@dataclass(frozen=True)
class Schema:
    """What a meta schema says of its fields. The inner format of `request_body_schema` and
    `query_schema` is not documented publicly: a JSON-Schema-like object (`properties`,
    `required`) and a flat map of field → spec (with `required: true`) are both read."""

    fields: frozenset[str]
    required: tuple[str, ...]
    strings: frozenset[str]  # typed as a plain string
    enums: dict[str, tuple[str, ...]]

    @classmethod
    def parse(cls, schema: Any) -> Schema | None:
        if not isinstance(schema, dict):
            return None
        properties = schema.get("properties")
        listed = schema.get("required")
        required: list[str] = []
        if isinstance(properties, dict) or isinstance(listed, list):
            properties = properties if isinstance(properties, dict) else {}
            required = [str(r) for r in listed] if isinstance(listed, list) else []
        elif schema and all(isinstance(v, dict) for v in schema.values()):
            properties = schema
        elif not schema:
            properties = {}
        else:
            return None
        specs = {str(k): v for k, v in properties.items() if isinstance(v, dict)}
        required += [name for name, spec in specs.items() if spec.get("required") is True]
        enums = {
            name: tuple(str(e) for e in spec["enum"])
            for name, spec in specs.items()
            if isinstance(spec.get("enum"), list) and spec["enum"]
        }
        return cls(
            fields=frozenset(specs),
            required=tuple(dict.fromkeys(required)),
            strings=frozenset(name for name, spec in specs.items() if spec.get("type") == "string"),
            enums=enums,
        )


@dataclass(frozen=True)
class Abilities:
    can_update: bool = True
    blocked: bool = False  # the unified API has blocked the account
    body_fields: frozenset[str] | None = None  # None: the tool did not say; nothing is refused
    string_fields: frozenset[str] = frozenset()  # fields the schema types as a plain string
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)  # a string field's accepted values
    required_body: tuple[str, ...] = ()
    required_query: tuple[str, ...] = ()
    default_body: dict[str, Any] = field(default_factory=dict)
    default_query: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "can_update": self.can_update,
            "blocked": self.blocked,
            "body_fields": sorted(self.body_fields) if self.body_fields is not None else None,
            "string_fields": sorted(self.string_fields),
            "enums": {k: list(v) for k, v in self.enums.items()},
            "required_body": list(self.required_body),
            "required_query": list(self.required_query),
            "default_body": self.default_body,
            "default_query": self.default_query,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Abilities:
        fields = data.get("body_fields")
        return cls(
            can_update=bool(data.get("can_update", True)),
            blocked=bool(data.get("blocked", False)),
            body_fields=frozenset(fields) if fields is not None else None,
            string_fields=frozenset(data.get("string_fields") or ()),
            enums={k: tuple(v) for k, v in (data.get("enums") or {}).items()},
            required_body=tuple(data.get("required_body") or ()),
            required_query=tuple(data.get("required_query") or ()),
            default_body=dict(data.get("default_body") or {}),
            default_query=dict(data.get("default_query") or {}),
        )


_warned_schemas: set[str] = set()


def abilities_from(capabilities: Any, meta: dict[str, Any] | None, account_name: str = "") -> Abilities:
    can_update = supports_update(capabilities) is not False
    blocked = account_blocked(capabilities)
    if meta is None:
        return Abilities(can_update=can_update, blocked=blocked)
    body = Schema.parse(meta.get("request_body_schema") or {})
    query = Schema.parse(meta.get("query_schema") or {})
    if (body is None or query is None) and account_name not in _warned_schemas:
        _warned_schemas.add(account_name)
        log.warning(
            "tickets/meta/update of account %s has a schema in a shape not understood; "
            "nothing is refused on its account",
            account_name,
        )
    defaults_body = meta.get("default_body")
    defaults_query = meta.get("default_query")
    return Abilities(
        can_update=can_update,
        blocked=blocked,
        body_fields=body.fields if body is not None and body.fields else None,
        string_fields=body.strings if body is not None else frozenset(),
        enums=body.enums if body is not None else {},
        required_body=body.required if body is not None else (),
        required_query=query.required if query is not None else (),
        default_body=dict(defaults_body) if isinstance(defaults_body, dict) else {},
        default_query=dict(defaults_query) if isinstance(defaults_query, dict) else {},
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
        return abilities_from(capabilities, meta, account.name).to_json()

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
        abilities = Abilities.from_json(data)
        if abilities.blocked:
            await self.cache.store(
                cache_key(account, "discovery", "tickets.update"), data, ttl=BLOCKED_TTL, stale_for=0.0
            )
        return abilities

    async def refresh(self, account: Account) -> Abilities:
        data = await self.cache.refresh(
            cache_key(account, "discovery", "tickets.update"),
            lambda: self._fetch(account),
            ttl=self.ttl,
            stale_for=self.ttl,
        )
        return Abilities.from_json(data)
