"""What each connected tool accepts, discovered per account: the account's state, its tool's
name and whether its tickets can be updated at all (capabilities, re-read every minute: a
blocked or disconnected account must not pass for healthy for an hour), and which body fields an
update takes, which query parameters it requires, which fields go as plain strings
(tickets/meta/update, cached for an hour)."""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field
from typing import Any

from cachetools import LRUCache

from bot.domain.accounts import Account, integration_name_of, learn_tool_label, tool_label_of
from bot.store.cache import Cache
from bot.store.keys import cache_key
from bot.truto.client import TrutoClient
from bot.truto.errors import AccountNotFound, NotAllowed, NotFound, TrutoError

log = logging.getLogger(__name__)

TTL = 3600.0  # the meta schema of updates
STATE_TTL = 60.0  # the capabilities answer: the account's state is never older than this


def resource_methods(capabilities: Any, resource: str) -> frozenset[str] | None:
    """The methods ticketing/<resource> lists (list, get, create, update, delete; empty when the
    resource is absent; None: the answer does not say)."""
    if not isinstance(capabilities, dict) or not isinstance(capabilities.get("unified"), list):
        return None
    found: set[str] = set()
    for entry in capabilities["unified"]:
        if (
            isinstance(entry, dict)
            and entry.get("resource") == resource
            and entry.get("model") in (None, "ticketing")
            and isinstance(entry.get("methods"), list)
        ):
            found.update(str(m) for m in entry["methods"])
    return frozenset(found)


def comment_methods(capabilities: Any) -> frozenset[str] | None:
    return resource_methods(capabilities, "comments")


def supports_comments(capabilities: Any) -> bool | None:
    """Whether ticketing/comments lists `create` (None: the answer does not say)."""
    methods = comment_methods(capabilities)
    return None if methods is None else "create" in methods


def ticket_methods(capabilities: Any) -> frozenset[str] | None:
    return resource_methods(capabilities, "tickets")


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


def account_status(capabilities: Any) -> str:
    """`account.status` on the integrated-account answer ("" when it does not say)."""
    account = capabilities.get("account") if isinstance(capabilities, dict) else None
    status = account.get("status") if isinstance(account, dict) else None
    return str(status) if isinstance(status, str) else ""


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
    objects: frozenset[str]  # typed as an object
    arrays: frozenset[str]  # typed as an array
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
            objects=frozenset(name for name, spec in specs.items() if spec.get("type") == "object"),
            arrays=frozenset(name for name, spec in specs.items() if spec.get("type") == "array"),
            enums=enums,
        )


@dataclass(frozen=True)
class Abilities:
    can_update: bool = True
    can_comment: bool | None = None  # comments create listed (None: not said)
    comment_methods: frozenset[str] | None = None  # what ticketing/comments lists (None: not said)
    ticket_methods: frozenset[str] | None = None  # what ticketing/tickets lists (None: not said)
    blocked: bool = False  # the unified API has blocked the account
    status: str = ""  # the account's status ("active", "needs_reauth", …; "" when not said)
    missing: bool = False  # the unified API does not know the integrated account at all
    tool_label: str | None = None  # integration.label (else its name), for messages
    integration: str | None = None  # integration.name (jira, linear…): people's own accounts match it
    body_fields: frozenset[str] | None = None  # None: the tool did not say; nothing is refused
    string_fields: frozenset[str] = frozenset()  # fields the schema types as a plain string
    object_fields: frozenset[str] = frozenset()  # fields the schema types as an object
    array_fields: frozenset[str] = frozenset()  # fields the schema types as an array
    enums: dict[str, tuple[str, ...]] = field(default_factory=dict)  # a string field's accepted values
    required_body: tuple[str, ...] = ()
    required_query: tuple[str, ...] = ()
    default_body: dict[str, Any] = field(default_factory=dict)
    default_query: dict[str, Any] = field(default_factory=dict)

    def comments_can(self, *methods: str) -> bool:
        """ticketing/comments lists every one of `methods` (False where not said)."""
        return self.comment_methods is not None and set(methods) <= self.comment_methods

    @property
    def can_create(self) -> bool:
        """Tickets can be created: listed, or the answer does not say (the API then answers)."""
        return self.ticket_methods is None or "create" in self.ticket_methods

    @property
    def can_delete(self) -> bool:
        """Tickets can be deleted: listed (Undo of a create is offered only then: fails closed)."""
        return self.ticket_methods is not None and "delete" in self.ticket_methods

    @property
    def can_sync_threads(self) -> bool:
        """A thread can follow a ticket: replies become comments (create), and the tool's
        comments can be read (list) when its events do not bring them."""
        return self.comments_can("create", "list")

    def to_json(self) -> dict[str, Any]:
        return {
            "can_update": self.can_update,
            "can_comment": self.can_comment,
            "comment_methods": sorted(self.comment_methods) if self.comment_methods is not None else None,
            "ticket_methods": sorted(self.ticket_methods) if self.ticket_methods is not None else None,
            "blocked": self.blocked,
            "status": self.status,
            "tool_label": self.tool_label,
            "integration": self.integration,
            "body_fields": sorted(self.body_fields) if self.body_fields is not None else None,
            "string_fields": sorted(self.string_fields),
            "object_fields": sorted(self.object_fields),
            "array_fields": sorted(self.array_fields),
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
            can_comment=data.get("can_comment") if isinstance(data.get("can_comment"), bool) else None,
            comment_methods=(
                frozenset(str(m) for m in data["comment_methods"])
                if isinstance(data.get("comment_methods"), list)
                else None
            ),
            ticket_methods=(
                frozenset(str(m) for m in data["ticket_methods"])
                if isinstance(data.get("ticket_methods"), list)
                else None
            ),
            blocked=bool(data.get("blocked", False)),
            status=str(data.get("status") or ""),
            tool_label=data.get("tool_label"),
            integration=data.get("integration"),
            body_fields=frozenset(fields) if fields is not None else None,
            string_fields=frozenset(data.get("string_fields") or ()),
            object_fields=frozenset(data.get("object_fields") or ()),
            array_fields=frozenset(data.get("array_fields") or ()),
            enums={k: tuple(v) for k, v in (data.get("enums") or {}).items()},
            required_body=tuple(data.get("required_body") or ()),
            required_query=tuple(data.get("required_query") or ()),
            default_body=dict(data.get("default_body") or {}),
            default_query=dict(data.get("default_query") or {}),
        )


@dataclass(frozen=True)
class CommentShape:
    """Truto's "Create Comments": the ticket is a query parameter, `ticket` (an object, sent as
    `ticket[id]`; most integrations) or `ticket_id` (a string; one integration), as the comments
    meta's query schema names it; `author` (the tool user's id) where its body schema lists it."""

    ticket_param: str = "ticket"
    author: bool = False
    author_type: bool = False  # the author object's schema lists `type` (user, contact, system)

    @classmethod
    def of(cls, meta: Any) -> CommentShape:
        if not isinstance(meta, dict):
            return cls()
        query = Schema.parse(meta.get("query_schema") or {})
        body_schema = meta.get("request_body_schema") or {}
        body = Schema.parse(body_schema)
        takes_id_only = query is not None and "ticket_id" in query.fields and "ticket" not in query.fields
        author = body is not None and "author" in body.fields
        properties = body_schema.get("properties") if isinstance(body_schema, dict) else None
        spec = (
            (properties or body_schema).get("author") if isinstance(properties or body_schema, dict) else None
        )
        inner = spec.get("properties") if isinstance(spec, dict) else None
        return cls(
            ticket_param="ticket_id" if takes_id_only else "ticket",
            author=author,
            author_type=isinstance(inner, dict) and "type" in inner,
        )


_warned_schemas: set[str] = set()


def abilities_from(capabilities: Any, meta: dict[str, Any] | None, account_name: str = "") -> Abilities:
    can_update = supports_update(capabilities) is not False
    can_comment = supports_comments(capabilities)
    told = Abilities(
        can_update=can_update,
        can_comment=can_comment,
        comment_methods=comment_methods(capabilities),
        ticket_methods=ticket_methods(capabilities),
        blocked=account_blocked(capabilities),
        status=account_status(capabilities),
        tool_label=tool_label_of(capabilities),
        integration=integration_name_of(capabilities),
    )
    if meta is None:
        return told
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
    return dataclasses.replace(
        told,
        body_fields=body.fields if body is not None and body.fields else None,
        string_fields=body.strings if body is not None else frozenset(),
        object_fields=body.objects if body is not None else frozenset(),
        array_fields=body.arrays if body is not None else frozenset(),
        enums=body.enums if body is not None else {},
        required_body=body.required if body is not None else (),
        required_query=query.required if query is not None else (),
        default_body=dict(defaults_body) if isinstance(defaults_body, dict) else {},
        default_query=dict(defaults_query) if isinstance(defaults_query, dict) else {},
    )


class Discovery:
    def __init__(self, client: TrutoClient, cache: Cache, *, ttl: float = TTL, kept: int = 2_000) -> None:
        self.client = client
        self.cache = cache
        self.ttl = ttl
        # The last answer per account, for the parser (which cannot wait): fields a tool refuses
        # are left out of the field names it suggests. The least recently used accounts go first.
        self.last: LRUCache[str, Abilities] = LRUCache(maxsize=kept)
        # The same for creates: a command missing a required field opens the form at once.
        self.last_create: LRUCache[str, Abilities] = LRUCache(maxsize=kept)

    async def _capabilities(self, account: Account) -> dict[str, Any]:
        try:
            answer: Any = await self.client.capabilities(account)
        except NotFound:
            # The account's capabilities exist for every account the API knows (documented):
            # a 404 there means the integrated account id is wrong.
            raise AccountNotFound(account.integrated_account_id) from None
        except NotAllowed:
            answer = None  # the API does not say: nothing is refused on its account
        return {"capabilities": answer}

    async def _meta(self, account: Account, method: str = "update") -> dict[str, Any]:
        try:
            meta: dict[str, Any] | None = await self.client.meta(account, "tickets", method)
        except (NotFound, NotAllowed):
            meta = None
        return {"meta": meta}

    async def create_abilities(self, account: Account) -> Abilities:
        """What a new ticket takes on this account: its state (as `abilities`) with the schema of
        `tickets/meta/create` (required body fields and query parameters; never the update's),
        cached an hour. Without a create meta nothing is required beyond a title, and the API
        answers for the rest. Raises TrutoError while the API cannot be asked: a create is not
        sent unchecked."""
        state = await self.cache.get_or_fetch(
            cache_key(account, "discovery", "capabilities"),
            lambda: self._capabilities(account),
            ttl=STATE_TTL,
            stale_for=0.0,
        )
        meta = await self.cache.get_or_fetch(
            cache_key(account, "discovery", "tickets.create"),
            lambda: self._meta(account, "create"),
            ttl=self.ttl,
            stale_for=self.ttl,
        )
        abilities = abilities_from(state.get("capabilities"), meta.get("meta"), account.name)
        self.last_create[account.integrated_account_id] = abilities
        return abilities

    async def _read(self, account: Account, *, fresh: bool) -> Abilities:
        get = self.cache.refresh if fresh else self.cache.get_or_fetch
        state = await get(
            cache_key(account, "discovery", "capabilities"),
            lambda: self._capabilities(account),
            ttl=STATE_TTL,
            stale_for=0.0,
        )
        meta = await get(
            cache_key(account, "discovery", "tickets.update"),
            lambda: self._meta(account),
            ttl=self.ttl,
            stale_for=self.ttl,
        )
        abilities = abilities_from(state.get("capabilities"), meta.get("meta"), account.name)
        learn_tool_label(account.integrated_account_id, abilities.tool_label)
        self.last[account.integrated_account_id] = abilities
        return abilities

    async def _comment_meta(self, account: Account) -> dict[str, Any]:
        try:
            meta: dict[str, Any] | None = await self.client.meta(account, "comments", "create")
        except (NotFound, NotAllowed):
            meta = None
        return {"meta": meta}

    async def comment_shape(self, account: Account) -> CommentShape:
        """How this account's tool takes a comment (its comments meta, cached an hour); without
        a meta (or while the API cannot be asked), the ticket as `ticket[id]` and no author."""
        try:
            meta = await self.cache.get_or_fetch(
                cache_key(account, "discovery", "comments.create"),
                lambda: self._comment_meta(account),
                ttl=self.ttl,
                stale_for=self.ttl,
            )
        except TrutoError:
            return CommentShape()
        return CommentShape.of(meta.get("meta"))

    async def abilities(self, account: Account) -> Abilities:
        """The account's state at most a minute old, its update schema an hour; while the API
        cannot be asked, nothing is refused (and nothing is cached)."""
        try:
            return await self._read(account, fresh=False)
        except AccountNotFound:
            return Abilities(missing=True)
        except TrutoError:
            return Abilities()

    async def refresh(self, account: Account) -> Abilities:
        return await self._read(account, fresh=True)
