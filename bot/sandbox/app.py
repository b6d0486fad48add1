"""The sandbox's ASGI app: tickets get/patch, lookup lists with cursors, meta, capabilities.

It validates PATCH bodies as the real API does (unknown field → 400 with the error
envelope), honours Idempotency-Key, records every request, and can be told to answer
429, 5xx or slowly (from Python, or over HTTP under /_sandbox/).
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.domain.models import TicketUpdate
from bot.sandbox.profiles import Obj, Profile, build_profiles
from bot.sandbox.webhooks import Webhooks

_REASONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
}


@dataclass
class Fault:
    """Answer the next `times` matching requests with `status` (or just wait `delay` first)."""

    status: int | None = None
    times: int = 1
    retry_after: float | None = None
    delay: float = 0.0
    method: str | None = None
    path_contains: str | None = None
    body: Obj | None = None

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path_contains is None or self.path_contains in path
        )


@dataclass
class Recorded:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: Any
    status: int = 0
    at: float = field(default_factory=time.monotonic)


@dataclass
class SandboxState:
    token: str = "sandbox-token"  # noqa: S105 - the sandbox's fixed public token
    latency: float = 0.0
    profiles: dict[str, Profile] = field(default_factory=build_profiles)
    requests: list[Recorded] = field(default_factory=list)
    faults: list[Fault] = field(default_factory=list)
    idempotent: dict[str, tuple[int, Obj]] = field(default_factory=dict)
    patches_applied: int = 0
    applied: list[tuple[str, Obj]] = field(default_factory=list)  # (ticket id, body) of each real change
    in_flight: int = 0
    rate_limit: tuple[int, float] | None = None  # (requests, seconds) per account, like the real API
    rate_limited: int = 0  # 429s given for the rate limit
    webhooks: Webhooks = field(default_factory=Webhooks)
    _hits: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def over_limit(self, account: str) -> float:
        """0 when this request fits the account's budget, else the seconds to wait."""
        if self.rate_limit is None:
            return 0.0
        requests, seconds = self.rate_limit
        now = time.monotonic()
        with self._lock:
            hits = self._hits.setdefault(account, deque())
            while hits and hits[0] <= now - seconds:
                hits.popleft()
            if len(hits) >= requests:
                self.rate_limited += 1
                return hits[0] + seconds - now
            hits.append(now)
            return 0.0

    def quiesce(self, timeout: float = 10.0) -> None:
        """Wait until no request is being answered (a slow answer can outlive its caller)."""
        deadline = time.monotonic() + timeout
        while (self.in_flight or self.webhooks.in_flight) and time.monotonic() < deadline:
            time.sleep(0.01)

    def reset(self) -> None:
        with self._lock:
            self.token = "sandbox-token"  # noqa: S105 - the sandbox's fixed public token
            self.latency = 0.0
            self.profiles = build_profiles()
            self.requests.clear()
            self.faults.clear()
            self.idempotent.clear()
            self.patches_applied = 0
            self.applied.clear()
            self.webhooks.reset()
            self.rate_limit = None
            self.rate_limited = 0
            self._hits.clear()

    def fail_next(self, status: int | None = None, **kwargs: Any) -> None:
        with self._lock:
            self.faults.append(Fault(status=status, **kwargs))

    def take_fault(self, method: str, path: str) -> Fault | None:
        with self._lock:
            for fault in self.faults:
                if fault.matches(method, path):
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                    return fault
        return None

    def calls(self, method: str | None = None, path_contains: str = "") -> list[Recorded]:
        return [
            r
            for r in list(self.requests)
            if (method is None or r.method == method)
            and path_contains in r.path
            and not r.path.startswith("/_sandbox")
        ]

    def profile(self, integrated_account_id: str) -> Profile:
        return self.profiles[integrated_account_id]


def envelope(status: int, message: str, headers_retry: float | None = None, **extra: Any) -> JSONResponse:
    body = {"statusCode": status, "error": _REASONS.get(status, "Error"), "message": message, **extra}
    headers = {"Retry-After": f"{max(1, round(headers_retry))}"} if headers_retry is not None else None
    return JSONResponse(body, status_code=status, headers=headers)


def insight(description: str, value: Any = None) -> Obj:
    """One truto_error_insight entry: {description, value} (value left out when it has none)."""
    return {"description": description} if value is None else {"description": description, "value": value}


def remote_refusal(profile: Profile, status: int, field: str, text: str) -> JSONResponse:
    """The tool refused the change: Truto forwards it with an empty `message`, the provider's body
    in `raw_response` (in the tool's own style) and the remote_error insight."""
    raw: Obj
    if profile.error_style == "linear":
        raw = {"errors": [{"message": f"{field}: {text}", "extensions": {"code": "INVALID_INPUT"}}]}
    elif profile.error_style == "jira":
        raw = {"errorMessages": [], "errors": {field: text}}
    else:
        raw = {"message": f"{field}: {text}"}
    return envelope(
        status,
        "",
        truto_is_remote_error=True,
        raw_response=raw,
        truto_error_insight={"remote_error": insight("The remote API returned an error.")},
    )


class _Refused(Exception):
    def __init__(self, response: Response) -> None:
        self.response = response


def _check_ref(profile: Profile, value: Any, items: list[Obj], label: str) -> Obj:
    wanted = value.get("id") if isinstance(value, dict) else None
    for item in items:
        if item["id"] == wanted:
            ref = {"id": item["id"], "name": item.get("name")}
            if item.get("type"):
                ref["type"] = item["type"]
            return ref
    raise _Refused(remote_refusal(profile, 400, label, f"unknown id {wanted!r}"))


def _apply(profile: Profile, ticket: Obj, body: Obj) -> None:
    """Validate the whole body, then change the ticket; nothing changes on a refusal."""
    unknown = sorted(set(body) - set(TicketUpdate.model_fields))
    if unknown:
        raise _Refused(envelope(400, f"Unknown field(s) in body: {', '.join(unknown)}"))
    unsupported = sorted(set(body) & profile.unsupported_fields)
    if unsupported:
        raise _Refused(remote_refusal(profile, 400, unsupported[0], f"cannot be updated on {profile.tool}"))
    lists = profile.lists
    changed: Obj = {}
    for key, value in body.items():
        if value is None or key in ("name", "description", "html_description", "number"):
            changed[key] = value
        elif (
            key in ("status", "ticket_type")
            and isinstance(value, str)
            and profile.status_as_string
            and (profile.status_enum if key == "status" else profile.type_enum)
        ):
            accepted = profile.status_enum if key == "status" else profile.type_enum
            if value not in accepted:
                raise _Refused(
                    remote_refusal(profile, 400, key, f"{value!r} is not one of {', '.join(accepted)}")
                )
            changed[key] = value
        elif key == "status":
            if isinstance(value, str):
                # A tool without a status list takes its own status words as strings.
                known = lists.get("ticket_status") or [{"id": value, "name": value}]
                match = [s for s in known if s["name"].lower() == value.lower()]
                if not match:
                    raise _Refused(remote_refusal(profile, 400, "status", f"unknown status {value!r}"))
                changed[key] = {"id": match[0]["id"], "name": match[0]["name"]}
            else:
                changed[key] = _check_ref(profile, value, lists.get("ticket_status", []), key)
        elif key in ("priority", "ticket_type", "team", "workspace"):
            resource = {"priority": "ticket_priorities", "ticket_type": "ticket_types"}.get(key, f"{key}s")
            if isinstance(value, str) and key == "ticket_type":
                changed[key] = {"id": value, "name": value}
            else:
                changed[key] = _check_ref(profile, value, lists.get(resource, []), key)
        elif key in ("assignees", "tags", "collections", "created_by"):
            resource = "users" if key in ("assignees", "created_by") else key
            values = value if isinstance(value, list) else [value]
            refs = [_check_ref(profile, v, lists.get(resource, []), key) for v in values]
            changed[key] = refs if isinstance(value, list) else refs[0]
        elif key in ("due_date", "completed_at", "created_at", "updated_at"):
            try:
                (date if len(str(value)) == 10 else datetime).fromisoformat(str(value))
            except ValueError:
                raise _Refused(
                    remote_refusal(profile, 400, key, f"not an ISO 8601 date: {value!r}")
                ) from None
            changed[key] = value
        elif key in ("source", "contact", "account", "parent_ticket"):
            if not isinstance(value, dict) or not value.get("id"):
                raise _Refused(remote_refusal(profile, 400, key, "must be an object with an id"))
            changed[key] = value
        elif key == "custom_fields":
            changed[key] = {**(ticket.get("custom_fields") or {}), **value}
        else:
            changed[key] = value
    ticket.update(changed)
    ticket["updated_at"] = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def create_sandbox_app(state: SandboxState) -> Starlette:
    async def guard(request: Request) -> Profile | Response:
        if request.headers.get("authorization") != f"Bearer {state.token}":
            return envelope(401, "Invalid API token")
        account = request.query_params.get("integrated_account_id")
        if not account:
            return envelope(400, "integrated_account_id is required")
        if account not in state.profiles:
            return envelope(404, f"Integrated account {account} not found")
        return state.profile(account)

    async def record(request: Request) -> Recorded:
        raw = await request.body()
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        wanted = ("idempotency-key", "content-type", "user-agent")
        headers = {k: v for k, v in request.headers.items() if k in wanted}
        headers["authorization-present"] = str("authorization" in request.headers).lower()
        entry = Recorded(
            request.method, request.url.path, list(request.query_params.multi_items()), headers, body
        )
        state.requests.append(entry)
        return entry

    def with_status(entry: Recorded, response: Response) -> Response:
        entry.status = response.status_code
        return response

    async def prelude(request: Request) -> tuple[Recorded, Response | Profile]:
        entry = await record(request)
        wait = state.over_limit(request.query_params.get("integrated_account_id", ""))
        if wait:
            return entry, envelope(429, "Rate limit exceeded", headers_retry=wait)
        if state.latency:
            await asyncio.sleep(state.latency)
        fault = state.take_fault(request.method, request.url.path)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.status is not None:
                headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
                body = {
                    "statusCode": fault.status,
                    "error": _REASONS.get(fault.status, "Error"),
                    "message": f"sandbox fault {fault.status}",
                    **(fault.body or {}),
                }
                return entry, JSONResponse(body, status_code=fault.status, headers=headers)
        return entry, await guard(request)

    async def ticket(request: Request) -> Response:
        entry, outcome = await prelude(request)
        if isinstance(outcome, Response):
            return with_status(entry, outcome)
        ticket_id = request.path_params["ticket_id"]
        found = outcome.tickets.get(ticket_id)
        if found is None and request.method == "GET":
            # Tools whose ids are not their keys (AZ-4 is 4204) take the key too on a read.
            found = next((t for t in outcome.tickets.values() if t.get("number") == ticket_id), None)
        if found is None:
            return with_status(entry, envelope(404, f"Ticket {ticket_id} not found"))
        if request.method == "GET":
            return with_status(entry, JSONResponse(found))
        return with_status(entry, patch(entry, outcome, found))

    def patch(entry: Recorded, profile: Profile, found: Obj) -> Response:
        if not profile.can_update:
            return envelope(405, f"{profile.tool} does not support updating tickets")
        sent = {name for name, _ in entry.query}
        missing = [name for name in profile.required_query if name not in sent]
        if missing:
            return envelope(
                400,
                f"Missing required query parameter(s): {', '.join(missing)}",
                truto_error_insight={
                    "missing_required_query_parameters": insight(
                        "These query parameters are required by the unified model.", missing
                    )
                },
            )
        given = dict(entry.query)
        if "collection_id" in profile.required_query and given.get("collection_id") != (
            (found.get("collections") or [{}])[0].get("id")
        ):
            return remote_refusal(profile, 400, "collection_id", "the work item is not in that project")
        key = entry.headers.get("idempotency-key")
        key = f"{key}|PATCH|{entry.path}" if key else None  # a key is one operation on one path
        if key and key in state.idempotent:
            status, body = state.idempotent[key]
            return JSONResponse(body, status_code=status)
        if not isinstance(entry.body, dict):
            return envelope(400, "The request body must be a JSON object")
        if "etag" in profile.required_query and given.get("etag") != found.get("etag"):
            return remote_refusal(
                profile, 409, "etag", "the work item changed since it was read (version conflict)"
            )
        try:
            with state._lock:
                _apply(profile, found, entry.body)
                if "etag" in found:
                    found["etag"] = f'W/"{int(found["etag"][3:-1]) + 1}"'

                state.patches_applied += 1
                state.applied.append((str(found["id"]), entry.body))
        except _Refused as refused:
            return refused.response
        state.webhooks.emit("updated", profile.integrated_account_id, json.loads(json.dumps(found)))
        if key:
            state.idempotent[key] = (200, json.loads(json.dumps(found)))
        return JSONResponse(found)

    async def listing(request: Request) -> Response:
        entry, outcome = await prelude(request)
        if isinstance(outcome, Response):
            return with_status(entry, outcome)
        resource = request.path_params["resource"]
        items = outcome.lists.get(resource)
        if items is None:
            return with_status(entry, envelope(404, f"{resource} is not supported by {outcome.tool}"))
        try:
            limit = max(1, min(int(request.query_params.get("limit", "50")), 1000))
            cursor = request.query_params.get("next_cursor")
            start = int(base64.urlsafe_b64decode(cursor.encode()).decode()) if cursor else 0
        except ValueError:
            return with_status(entry, envelope(400, "Invalid limit or next_cursor"))
        page = items[start : start + limit]
        more = start + limit < len(items)
        body = {
            "result": page,
            "next_cursor": base64.urlsafe_b64encode(str(start + limit).encode()).decode() if more else None,
            "prev_cursor": base64.urlsafe_b64encode(str(max(0, start - limit)).encode()).decode()
            if start
            else None,
            "result_count": len(page),
            "is_partial_response": False,
        }
        return with_status(entry, JSONResponse(body))

    async def meta(request: Request) -> Response:
        entry, outcome = await prelude(request)
        if isinstance(outcome, Response):
            return with_status(entry, outcome)
        if request.path_params["resource"] != "tickets" or request.path_params["method"] != "update":
            return with_status(entry, envelope(404, "No such meta endpoint"))
        return with_status(entry, JSONResponse(outcome.meta_update()))

    async def capabilities(request: Request) -> Response:
        entry, outcome = await prelude(request)
        if isinstance(outcome, Response):
            return with_status(entry, outcome)
        return with_status(entry, JSONResponse(outcome.capabilities(request.query_params.get("type"))))

    async def webhooks(request: Request) -> Response:
        """POST creates (the secret is in this answer only), GET lists, as documented."""
        entry = await record(request)
        if request.headers.get("authorization") != f"Bearer {state.token}":
            return with_status(entry, envelope(401, "Invalid API token"))
        if request.method == "GET":
            found = [Webhooks.public(w) for w in state.webhooks.registered.values()]
            page = {"result": found, "next_cursor": None, "result_count": len(found)}
            return with_status(entry, JSONResponse(page))
        body = entry.body if isinstance(entry.body, dict) else {}
        target = body.get("target_url")
        if not isinstance(target, str) or not target.startswith(("http://", "https://")):
            return with_status(entry, envelope(400, "target_url must be an http(s) URL"))
        key = entry.headers.get("idempotency-key")
        key = f"{key}|POST|{request.url.path}" if key else None
        if key and key in state.idempotent:  # a retried create: the same webhook, the same secret
            status, answer = state.idempotent[key]
            return with_status(entry, JSONResponse(answer, status_code=status))
        created = state.webhooks.create(body)
        if key:
            state.idempotent[key] = (201, created)
        return with_status(entry, JSONResponse(created, status_code=201))

    async def webhook(request: Request) -> Response:
        entry = await record(request)
        if request.headers.get("authorization") != f"Bearer {state.token}":
            return with_status(entry, envelope(401, "Invalid API token"))
        webhook_id = request.path_params["webhook_id"]
        found = state.webhooks.registered.get(webhook_id)
        if found is None:
            return with_status(entry, envelope(404, f"Webhook {webhook_id} not found"))
        if request.method == "DELETE":
            del state.webhooks.registered[webhook_id]
        return with_status(entry, JSONResponse(Webhooks.public(found)))

    async def change_in_tool(request: Request) -> Response:
        """A change made in the tool itself (not through the API): applied, then announced to
        the webhooks as `record:updated` (or `record:deleted` for DELETE)."""
        profile = state.profiles.get(request.path_params["account"])
        ticket_id = request.path_params["ticket_id"]
        found = profile.tickets.get(ticket_id) if profile is not None else None
        if profile is None or found is None:
            return envelope(404, f"Ticket {ticket_id} not found")
        if request.method == "DELETE":
            del profile.tickets[ticket_id]
            state.webhooks.emit("deleted", profile.integrated_account_id, {"id": found["id"]})
            return JSONResponse({"ok": True})
        try:
            with state._lock:
                _apply(profile, found, await request.json())
        except _Refused as refused:
            return refused.response
        state.webhooks.emit("updated", profile.integrated_account_id, json.loads(json.dumps(found)))
        return JSONResponse(found)

    async def admin_faults(request: Request) -> Response:
        state.fail_next(**(await request.json()))
        return JSONResponse({"ok": True})

    async def admin_latency(request: Request) -> Response:
        state.latency = float((await request.json())["seconds"])
        return JSONResponse({"ok": True})

    async def admin_lists(request: Request) -> Response:
        """Replace a profile's list (e.g. 50 000 users for a benchmark)."""
        data = await request.json()
        state.profile(data["account"]).lists[data["resource"]] = data["items"]
        return JSONResponse({"ok": True})

    async def admin_reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"ok": True})

    async def admin_forget(request: Request) -> Response:
        state.requests.clear()
        return JSONResponse({"ok": True})

    async def admin_requests(request: Request) -> Response:
        rows = [{"method": r.method, "path": r.path, "status": r.status, "at": r.at} for r in state.calls()]
        return JSONResponse({"requests": rows, "patches_applied": state.patches_applied})

    def counted(endpoint: Any) -> Any:
        async def run(request: Request) -> Response:
            with state._lock:
                state.in_flight += 1
            try:
                response: Response = await endpoint(request)
                return response
            finally:
                with state._lock:
                    state.in_flight -= 1

        return run

    ticket, meta, listing, capabilities = (counted(f) for f in (ticket, meta, listing, capabilities))

    return Starlette(
        routes=[
            Route("/unified/ticketing/tickets/{ticket_id}", ticket, methods=["GET", "PATCH"]),
            Route("/unified/ticketing/{resource}/meta/{method}", meta, methods=["GET"]),
            Route("/unified/ticketing/{resource}", listing, methods=["GET"]),
            Route("/integrated-account/{account_id}/capabilities", capabilities, methods=["GET"]),
            Route("/webhook", webhooks, methods=["GET", "POST"]),
            Route("/webhook/{webhook_id}", webhook, methods=["GET", "DELETE"]),
            Route("/_sandbox/tickets/{account}/{ticket_id}", change_in_tool, methods=["PATCH", "DELETE"]),
            Route("/_sandbox/faults", admin_faults, methods=["POST"]),
            Route("/_sandbox/latency", admin_latency, methods=["POST"]),
            Route("/_sandbox/reset", admin_reset, methods=["POST"]),
            Route("/_sandbox/lists", admin_lists, methods=["POST"]),
            Route("/_sandbox/forget", admin_forget, methods=["POST"]),
            Route("/_sandbox/requests", admin_requests, methods=["GET"]),
        ]
    )
