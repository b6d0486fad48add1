"""Deterministic data for the sandbox's three tool profiles."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.contract import REF, SEED_FIELDS, TEXT

Obj = dict[str, Any]

FIRST_NAMES = [
    "Ana",
    "Bruno",
    "Carla",
    "Diego",
    "Elena",
    "Felipe",
    "Gabriela",
    "Hugo",
    "Irene",
    "Joao",
    "Karin",
    "Lucas",
    "Marta",
    "Nuno",
    "Olga",
    "Pedro",
    "Quentin",
    "Rosa",
    "Sergio",
    "Tania",
    "Ugo",
    "Vera",
    "Wagner",
    "Ximena",
    "Yuri",
    "Zoe",
]
LAST_NAMES = [
    "Lima",
    "Costa",
    "Mendes",
    "Alves",
    "Rocha",
    "Souza",
    "Pereira",
    "Nunes",
    "Ferreira",
    "Gomes",
    "Ramos",
    "Pinto",
    "Moreira",
]


def _user(prefix: str, index: int, first: str, last: str, domain: str, username: str | None = None) -> Obj:
    handle = username or f"{first}.{last}".lower()
    return {
        "id": f"{prefix}{index:04d}",
        "name": f"{first} {last}",
        "first_name": first,
        "last_name": last,
        "username": handle,
        "emails": [{"email": f"{handle}@{domain}", "type": "work"}],
    }


def _users(prefix: str, count: int, domain: str, named: list[tuple[str, str, str, str]]) -> list[Obj]:
    """`named` users first (first, last, username, email), then generated ones up to `count`."""
    users = []
    for index, (first, last, username, email) in enumerate(named, start=1):
        user = _user(prefix, index, first, last, domain, username)
        user["emails"] = [{"email": email, "type": "work"}]
        users.append(user)
    index = len(users)
    taken = {u["name"] for u in users}
    for last in LAST_NAMES:
        for first in FIRST_NAMES:
            if len(users) >= count:
                return users
            if f"{first} {last}" in taken:
                continue
            index += 1
            users.append(_user(prefix, index, first, last, domain))
    return users


def _named(prefix: str, names: list[str]) -> list[Obj]:
    return [{"id": f"{prefix}{i}", "name": name} for i, name in enumerate(names, start=1)]


def _ref(obj: Obj) -> Obj:
    return {"id": obj["id"], "name": obj["name"]}


@dataclass
class Profile:
    name: str
    tool: str
    integrated_account_id: str
    lists: dict[str, list[Obj]]
    tickets: dict[str, Obj]
    # Body fields this tool cannot update, refused with 400 like a real integration.
    unsupported_fields: frozenset[str] = frozenset()
    required_query: tuple[str, ...] = ()
    status_as_string: bool = False
    status_enum: tuple[str, ...] = ()  # the string values status takes, when the schema lists them
    type_enum: tuple[str, ...] = ()  # the same for ticket_type
    can_update: bool = True  # False: the tool's integration has no ticket update
    error_style: str = "generic"  # how the tool words a refusal in raw_response: jira, linear, generic
    is_blocked: bool = False
    status: str = "active"  # the account's status in the capabilities answer
    default_body: dict[str, Any] = field(default_factory=dict)  # the meta's default_body
    default_query: dict[str, Any] = field(default_factory=dict)  # …and default_query
    shapes: dict[str, Obj] = field(default_factory=dict)  # a field this tool takes in another shape
    takes_keys: bool = False  # a ticket's key (its `number`) finds it where its id would
    extra: dict[str, Any] = field(default_factory=dict)
    tenant_id: str | None = None  # the tenant a link token connected it for
    can_comment: bool = True  # its integration creates comments (Truto lists Jira, not Linear)
    # "Create Comments" names the ticket as `ticket` (an object, `ticket[id]`: 11 integrations)
    # or `ticket_id` (a string: one); the comments meta says which, and whether `author` is taken.
    comment_ticket_param: str = "ticket"
    comment_author: bool = True
    # What its ticketing/comments lists besides create (Truto's coverage page: Jira also updates
    # and deletes them; most integrations list and get only).
    comment_methods: tuple[str, ...] = ("list", "get", "create")
    comment_seq: int = 0  # comment ids are never reused, as a tool's are not
    # A person's own account (connected for `<team>:<user>`): who it signs in as, and the projects
    # (key prefixes) it may read and change (None: all). It shares the tool's tickets with the
    # workspace's account of the same tool, as a person's login shares the tracker.
    acting_user: Obj | None = None
    projects: frozenset[str] | None = None
    read_only: bool = False  # may browse the projects, not edit them (the tool answers 403)
    last_editors: dict[str, Obj] = field(default_factory=dict)  # ticket id → who changed it last
    # Creating tickets (Truto's "Create Tickets"): what its create meta requires, in the body and
    # the query; whether "Delete Tickets" lists the integration (Jira and Linear do, Azure DevOps
    # not); each project's tickets are numbered on from its highest key, as the tools do.
    can_create: bool = True
    can_delete: bool = False
    create_required: tuple[str, ...] = ("name",)
    create_required_query: tuple[str, ...] = ()
    key_prefix: str = "PROJ"  # a new ticket's key where it names no project of its own

    def integration_user(self) -> Obj:
        """Who a comment written through the API without an author appears as: the person a
        personal account signs in as, else the connection's own user."""
        if self.acting_user is not None:
            return {**self.acting_user, "type": "user"}
        return {"id": f"svc-{self.integrated_account_id}", "name": "Integration user", "type": "user"}

    def may_access(self, ticket: Obj) -> bool:
        key = str(ticket.get("number") or ticket.get("key") or ticket.get("id") or "")
        return self.projects is None or key.split("-", 1)[0] in self.projects

    comments: dict[str, list[Obj]] = field(default_factory=dict)  # ticket id → comments created

    def capabilities(self, surface: str | None) -> Obj:
        """The documented shape of GET /integrated-account/{id}/capabilities."""
        unified = (
            [
                {
                    "model": "ticketing",
                    "model_label": "Unified Ticketing API",
                    "resource": "tickets",
                    "description": "Tickets (issues, tasks) in the ticketing tool.",
                    "docs_url": "https://truto.one/docs/api-reference/unified-ticketing-api/tickets",
                    "methods": self.ticket_methods(),
                    "env_overridden": False,
                }
            ]
            + (
                [
                    {
                        "model": "ticketing",
                        "model_label": "Unified Ticketing API",
                        "resource": "comments",
                        "description": "Comments on tickets.",
                        "docs_url": "https://truto.one/docs/api-reference/unified-ticketing-api/comments",
                        "methods": list(self.comment_methods),
                        "env_overridden": False,
                    }
                ]
                if self.can_comment
                else []
            )
            + [
                {
                    "model": "ticketing",
                    "model_label": "Unified Ticketing API",
                    "resource": name,
                    "description": None,
                    "docs_url": None,
                    "methods": ["list"],
                    "env_overridden": False,
                }
                for name in self.lists
            ]
        )
        answer: Obj = {
            "integration": {
                "id": f"int-{self.name}",
                "name": self.name,
                "label": self.tool,
                "category": "ticketing",
            },
            "environment_id": "sandbox-env",
            "proxy": [],
            "unified": unified,
            "account": {
                "id": self.integrated_account_id,
                "status": self.status,
                "authentication_method": "oauth2",
                "is_blocked": self.is_blocked,
            },
        }
        if surface not in (None, "all", "unified"):
            answer["unified"] = []
        return answer

    def ticket_methods(self) -> list[str]:
        methods = ["list", "get"]
        methods += ["create"] if self.can_create else []
        methods += ["update"] if self.can_update else []
        methods += ["delete"] if self.can_delete else []
        return methods

    def required_custom_fields(self) -> list[str]:
        """Custom fields the tool requires on a new ticket (its definitions' `is_required`)."""
        return [
            str(f["name"])
            for f in self.lists.get("fields", [])
            if f.get("is_required") and f.get("entity_type", "ticket") == "ticket"
        ]

    def account_record(self) -> Obj:
        """`GET /integrated-account/{id}`: the account as the connection flow's payload shows it."""
        return {
            "id": self.integrated_account_id,
            "tenant_id": self.tenant_id or f"sandbox-{self.name}",
            "environment_id": "sandbox-env",
            "status": self.status,
            "is_blocked": self.is_blocked,
            "is_sandbox": False,
            "authentication_method": "oauth2",
            "context": {},
            "integration": {"id": f"int-{self.name}", "name": self.name, "config": {"label": self.tool}},
            "created_at": "2026-10-01 09:00:00",
            "updated_at": "2026-10-01 09:00:00",
        }

    def remote_data(self, ticket: Obj) -> Obj:
        """The tool's own record behind a unified ticket, in the tool's own style (what
        `remote_data` and `truto_response_format=raw` carry)."""
        status = ticket.get("status")
        state = status.get("name") if isinstance(status, dict) else status
        editor = self.last_editors.get(str(ticket.get("id")))
        if self.name == "jira":
            fields: Obj = {"summary": ticket.get("name"), "status": {"name": state}}
            if editor is not None:  # who changed it last, as the tool records it
                fields["updater"] = {"accountId": editor["id"], "displayName": editor["name"]}
            return {"key": ticket.get("number"), "fields": fields}
        if self.name == "linear":
            return {"identifier": ticket.get("number"), "title": ticket.get("name"), "state": {"name": state}}
        return {"id": ticket.get("id"), "fields": {"System.Title": ticket.get("name"), "System.State": state}}

    def meta(self, method: str) -> Obj | None:
        """`GET /unified/ticketing/tickets/meta/{method}` for list, get and update."""
        if method == "update":
            return self.meta_update()
        if method == "create":
            return self.meta_create() if self.can_create else None
        if method not in ("list", "get"):
            return None
        return {
            "method": method,
            "schema": {"type": "object", "properties": dict(SEED_FIELDS)},
            "documentation_link": None,
            "response_mapping": None,
            "query_schema": {"type": "object", "properties": {}, "required": []},
            "request_body_schema": None,
            "default_query": {},
            "default_body": {},
        }

    def meta_comments_create(self) -> Obj:
        """`GET /unified/ticketing/comments/meta/create`: the ticket's query parameter, the body."""
        ticket: Obj = (
            {"type": "string"}
            if self.comment_ticket_param == "ticket_id"
            else {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"]}
        )
        body: dict[str, Obj] = {"body": dict(TEXT), "html_body": dict(TEXT)}
        if self.comment_author:
            author_id = {"id": dict(TEXT), "type": {**TEXT, "enum": ["user", "contact"]}}
            body["author"] = {"type": "object", "properties": author_id, "required": ["id"]}
        return {
            "method": "create",
            "schema": {"type": "object", "properties": {"id": {"type": "string"}}},
            "documentation_link": None,
            "response_mapping": None,
            "query_schema": {
                "type": "object",
                "properties": {self.comment_ticket_param: ticket},
                "required": [self.comment_ticket_param],
            },
            "request_body_schema": {"type": "object", "properties": body, "required": []},
            "default_query": {},
            "default_body": {},
        }

    def copy(self) -> Profile:
        return copy.deepcopy(self)

    def body_schema(self) -> dict[str, Obj]:
        """The request body schema this tool publishes: the seed's shapes, with status and type
        as this tool takes them (a word from its enum, or a reference to its list), and the
        profile's own overrides."""
        properties = dict(SEED_FIELDS)
        by_word = self.status_as_string or "ticket_status" not in self.lists
        properties["status"] = (
            ({**TEXT, "enum": list(self.status_enum)} if self.status_enum else TEXT) if by_word else REF
        )
        properties["ticket_type"] = {**TEXT, "enum": list(self.type_enum)} if self.type_enum else REF
        properties.update(self.shapes)
        for name in self.unsupported_fields:
            properties.pop(name, None)
        return properties

    def meta_update(self) -> Obj:
        properties = self.body_schema()
        query = {name: {"type": "string"} for name in self.required_query}
        return {
            "method": "update",
            "schema": {"type": "object", "properties": {"id": {"type": "string"}}},
            "documentation_link": None,
            "response_mapping": None,
            "request_body_schema": {"type": "object", "properties": properties, "required": []},
            "query_schema": {"type": "object", "properties": query, "required": list(self.required_query)},
            "default_query": dict(self.default_query),
            "default_body": dict(self.default_body),
        }

    def meta_create(self) -> Obj:
        """`tickets/meta/create`: the update's body schema with what a new ticket requires. The
        custom fields the tool requires are not in it: they are the field definitions'
        `is_required`, as the fields list gives them."""
        meta = self.meta_update()
        body = dict(meta["request_body_schema"])
        body["required"] = list(self.create_required)
        query = {name: {"type": "string"} for name in self.create_required_query}
        return {
            **meta,
            "method": "create",
            "request_body_schema": body,
            "query_schema": {
                "type": "object",
                "properties": query,
                "required": list(self.create_required_query),
            },
            "default_query": {},
            "default_body": {},
        }


def _jira() -> Profile:
    users = _users(
        "ju",
        320,
        "acme.example",
        [
            ("Ana", "Lima", "ana", "ana@acme.example"),
            ("Ana", "Souza", "asouza", "ana.souza@acme.example"),
            ("Bruno", "Costa", "bruno", "bruno@acme.example"),
            ("Carla", "Mendes", "carla", "carla@acme.example"),
        ],
    )
    statuses = _named("js", ["To Do", "In Progress", "In Review", "Done"])
    priorities = _named("jp", ["Highest", "High", "Medium", "Low", "Lowest"])
    types = _named("jt", ["Bug", "Task", "Story", "Epic"])
    tags = _named(
        "jl",
        [
            "backend",
            "frontend",
            "infra",
            "security",
            "ux",
            "api",
            "mobile",
            "web",
            "database",
            "performance",
            "docs",
            "testing",
            "ci",
            "release",
            "hotfix",
            "customer",
            "regression",
            "tech-debt",
            "needs-review",
            "blocked",
        ],
    )
    teams = _named("jteam", ["Platform", "Mobile", "Web", "Data", "Support"])
    collections = [
        {"id": "jc1", "name": "PROJ", "type": "project"},
        {"id": "jc2", "name": "OPS", "type": "project"},
    ]
    fields: list[Obj] = [
        {
            "id": "cf1",
            "name": "story_points",
            "label": "Story points",
            "type": "number",
            "entity_type": "ticket",
        },
        {
            "id": "cf2",
            "name": "severity",
            "label": "Severity",
            "type": "enum",
            "entity_type": "ticket",
            "is_required": True,
            "options": [{"label": s, "value": s.lower()} for s in ("Minor", "Major", "Critical")],
        },
        {
            "id": "cf3",
            "name": "components",
            "label": "Components",
            "type": "array",
            "entity_type": "ticket",
            "options": [{"label": c, "value": c.lower()} for c in ("API", "Web", "Mobile")],
        },
        {"id": "cf4", "name": "reviewed", "label": "Reviewed", "type": "boolean", "entity_type": "ticket"},
        {
            "id": "cf5",
            "name": "release_date",
            "label": "Release date",
            "type": "date",
            "entity_type": "ticket",
        },
        {"id": "cf6", "name": "reviewer", "label": "Reviewer", "type": "user", "entity_type": "ticket"},
        {
            "id": "cf8",
            "name": "deployed_at",
            "label": "Deployed at",
            "type": "datetime",
            "entity_type": "ticket",
        },
        {
            "id": "cf7",
            "name": "sprint_goal",
            "label": "Sprint goal",
            "type": "string",
            "entity_type": "collection",
        },
    ]
    tickets: dict[str, Obj] = {}
    for n in range(1, 61):
        key = f"PROJ-{n}"
        tickets[key] = {
            "id": key,
            "number": key,
            "name": f"Ticket {n}: {['Login', 'Billing', 'Search', 'Export'][n % 4]} improvements",
            "description": f"Details of ticket {n}.",
            "status": _ref(statuses[n % 4]),
            "priority": _ref(priorities[2]),
            "ticket_type": _ref(types[n % 4]),
            "assignees": [_ref(users[2])],
            "tags": [_ref(tags[1])],
            "collections": [_ref(collections[0])],
            "team": _ref(teams[0]),
            "due_date": None,
            "custom_fields": {"story_points": 3, "components": ["web"]},
            "created_at": "2026-10-01T09:00:00Z",
            "updated_at": "2026-11-20T09:00:00Z",
            "ticket_url": f"https://acme.atlassian.net/browse/{key}",
        }
    tickets["PROJ-42"].update(
        name="Login fails with SSO",
        status=_ref(statuses[0]),
        html_description="<p>SSO login <b>fails</b> for users with &amp; in their name.</p>",
    )
    return Profile(
        name="jira",
        tool="Jira",
        integrated_account_id="sandbox-jira",
        lists={
            "ticket_status": statuses,
            "ticket_priorities": priorities,
            "ticket_types": types,
            "users": users,
            "tags": tags,
            "teams": teams,
            "collections": collections,
            "fields": fields,
        },
        tickets=tickets,
        unsupported_fields=frozenset({"workspace"}),
        error_style="jira",
        comment_methods=("list", "get", "create", "update", "delete"),
        can_delete=True,
        create_required=("name", "collections", "ticket_type"),
    )


def _linear() -> Profile:
    users = _users(
        "lu",
        60,
        "linear.example",
        [
            ("Ana", "Lima", "ana", "ana@acme.example"),
            ("Diego", "Alves", "diego", "diego@acme.example"),
            ("Elena", "Rocha", "elena", "elena@acme.example"),
        ],
    )
    statuses = _named("ls", ["Backlog", "Todo", "In Progress", "Done", "Canceled"])
    priorities = _named("lp", ["Urgent", "High", "Medium", "Low"])
    tags = _named("ll", ["Bug", "Feature", "Improvement", "backend", "design"])
    teams = _named("lteam", ["Engineering", "Design"])
    collections = [{"id": "lc1", "name": "Q4 Roadmap", "type": "project"}]
    tickets: dict[str, Obj] = {}
    for n in range(1, 41):
        key = f"ENG-{n}"
        tickets[key] = {
            "id": key,
            "number": key,
            "name": f"Engineering task {n}",
            "description": f"Linear issue {n}.",
            "status": _ref(statuses[n % 5]),
            "priority": _ref(priorities[n % 4]),
            "assignees": [],
            "tags": [_ref(tags[0])],
            "team": _ref(teams[0]),
            "workspace": {"id": "lws1", "name": "Acme"},
            "due_date": None,
            "created_at": "2026-10-05T10:00:00Z",
            "updated_at": "2026-11-21T10:00:00Z",
        }
    tickets["ENG-7"].update(
        name="Crash on empty search", status=_ref(statuses[1]), assignees=[_ref(users[1])]
    )
    return Profile(
        name="linear",
        tool="Linear",
        can_comment=False,
        integrated_account_id="sandbox-linear",
        lists={
            "ticket_status": statuses,
            "ticket_priorities": priorities,
            "users": users,
            "tags": tags,
            "teams": teams,
            "collections": collections,
        },
        tickets=tickets,
        unsupported_fields=frozenset({"ticket_type", "workspace", "due_date"}),
        required_query=("workspace_id",),
        status_as_string=True,
        error_style="linear",
        can_delete=True,
        create_required=("name", "team"),
        key_prefix="ENG",
    )


def _azure() -> Profile:
    """A third kind of tool: numeric ids behind keys (AZ-42), status and type as words from the
    schema's enum, and two required query parameters the ticket carries (its project as
    `collection_id`, its version as `etag`)."""
    users = _users("au", 30, "acme.example", [("Ana", "Lima", "ana", "ana@acme.example")])
    tags = _named("at", ["backend", "frontend", "infra"])
    collections = [
        {"id": "ac1", "name": "Payments", "type": "product"},
        {"id": "ac2", "name": "API", "type": "component"},
    ]
    tickets: dict[str, Obj] = {}
    for n in range(1, 21):
        ticket_id = str(4200 + n)
        tickets[ticket_id] = {
            "id": ticket_id,
            "number": f"AZ-{n}",
            "name": f"Work item {n}",
            "description": f"Azure work item {n}.",
            "status": "open",
            "ticket_type": "default_task",
            "assignees": [],
            "tags": [_ref(tags[0])],
            "collections": [collections[0]],
            "etag": f'W/"{n}"',
            "due_date": None,
            "created_at": "2026-10-07T08:00:00Z",
            "updated_at": "2026-11-22T08:00:00Z",
            "ticket_url": f"https://dev.azure.com/acme/_workitems/edit/{4200 + n}",
        }
    return Profile(
        name="azure",
        tool="Azure DevOps",
        integrated_account_id="sandbox-azure",
        lists={
            "users": users,
            "tags": tags,
            "collections": collections,
            "workspaces": [{"id": "aw1", "name": "Acme Cloud"}, {"id": "aw2", "name": "Acme Labs"}],
        },
        tickets=tickets,
        unsupported_fields=frozenset({"team", "priority"}),
        required_query=("collection_id", "etag"),
        comment_ticket_param="ticket_id",  # the one integration of that kind, in the sandbox
        comment_author=False,
        status_as_string=True,
        status_enum=("open", "active", "resolved", "closed"),
        takes_keys=True,
        type_enum=("default_task", "milestone", "approval"),
        create_required=("name", "ticket_type"),
        create_required_query=("collection_id",),
        key_prefix="AZ",
    )


def build_profiles() -> dict[str, Profile]:
    profiles = [_jira(), _linear(), _azure()]
    return {p.integrated_account_id: p for p in profiles}


PROFILES = build_profiles()
