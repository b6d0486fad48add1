"""The sandbox's ASGI app: the unified ticketing API's routes (tickets get, list and patch,
lookup lists with cursors, meta, capabilities), the platform's (integrated accounts, webhooks),
and its own controls under /_sandbox/.

It follows the published reference, not the bot: bodies are checked against the seed's schema
(bot/sandbox/contract.py), Idempotency-Key replays are keyed by key, method and path, rate limits
answer 429 with `Retry-After` and `ratelimit-*` headers, a blocked account answers 503, and every
unknown route or method is answered in the error envelope. It can be told to answer 429, 5xx or
slowly (from Python, or over HTTP under /_sandbox/).
"""

from __future__ import annotations

import asyncio
import json
import math
from datetime import UTC, datetime
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.sandbox.answers import BadPage, platform_page, shaped_ticket, unified_page
from bot.sandbox.changes import apply_change
from bot.sandbox.connect import connect_routes
from bot.sandbox.creating import missing_query, new_ticket
from bot.sandbox.envelopes import REASONS, Refused, envelope, insight, remote_refusal
from bot.sandbox.profiles import Obj, Profile
from bot.sandbox.state import Fault, Recorded, SandboxState
from bot.sandbox.webhooks import Webhooks

__all__ = ["Fault", "SandboxState", "create_sandbox_app"]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def create_sandbox_app(state: SandboxState) -> Starlette:
    def authorised(request: Request) -> bool:
        return request.headers.get("authorization") == f"Bearer {state.token}"

    def account_of(account: str | None, *, blocked_ok: bool = False) -> Profile | Response:
        if not account:
            return envelope(400, "integrated_account_id is required")
        if account not in state.profiles:
            return envelope(404, f"Integrated account {account} not found")
        profile = state.profile(account)
        if profile.is_blocked and not blocked_ok:
            # Documented: 503 means the integrated account has been blocked (not to be retried).
            return envelope(503, f"Integrated account {account} is blocked")
        return profile

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

    def rate_limited(wait: float) -> Response:
        """Documented: 429 with `Retry-After: 10` (the window of both limits); the `ratelimit-*`
        headers are those of the IETF draft the API's answers carry."""
        assert state.rate_limit is not None
        requests, seconds = state.rate_limit
        response = envelope(429, "Rate limit exceeded")
        response.headers.update(
            {
                "Retry-After": f"{math.ceil(seconds)}",
                "ratelimit-limit": str(requests),
                "ratelimit-remaining": "0",
                "ratelimit-reset": str(max(1, math.ceil(wait))),
            }
        )
        return response

    async def prelude(
        request: Request, account: str | None = None, *, blocked_ok: bool = False
    ) -> tuple[Recorded, Response | Profile]:
        """Record, then (in the real API's order as far as it shows) authenticate, rate-limit, and
        find the account; the faults a test asked for come before the account."""
        entry = await record(request)
        if not authorised(request):
            return entry, envelope(401, "Invalid API token")
        account = account or request.query_params.get("integrated_account_id")
        wait = state.over_limit(account or "")
        if wait:
            return entry, rate_limited(wait)
        if state.latency:
            await asyncio.sleep(state.latency)
        faulted = await fault_for(request)
        if faulted is not None:
            return entry, faulted
        return entry, account_of(account, blocked_ok=blocked_ok)

    async def fault_for(request: Request) -> Response | None:
        """The fault a test asked for on this call, if any (a delay alone answers None)."""
        fault = state.take_fault(request.method, request.url.path)
        if fault is None:
            return None
        if fault.delay:
            await asyncio.sleep(fault.delay)
        if fault.status is None:
            return None
        headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
        body = {
            "statusCode": fault.status,
            "error": REASONS.get(fault.status, "Error"),
            "message": f"sandbox fault {fault.status}",
            **(fault.body or {}),
        }
        return JSONResponse(body, status_code=fault.status, headers=headers)

    async def platform_prelude(request: Request) -> tuple[Recorded, Response | None]:
        """The platform routes (webhooks): record, authenticate, then any fault asked for."""
        entry = await record(request)
        if not authorised(request):
            return entry, envelope(401, "Invalid API token")
        return entry, await fault_for(request)

    def replayed(entry: Recorded) -> tuple[str | None, Response | None]:
        """Documented: a mutating call with an Idempotency-Key already seen answers as it did. The
        key is one operation on one path: the same key on another path or method is another call."""
        key = entry.headers.get("idempotency-key")
        if not key:
            return None, None
        key = f"{key}|{entry.method}|{entry.path}"
        if key in state.idempotent:
            status, answer = state.idempotent[key]
            return key, JSONResponse(answer, status_code=status)
        return key, None

    def find_ticket(profile: Profile, ticket_id: str) -> Obj | None:
        found = profile.tickets.get(ticket_id)
        found = found if found is None or str(found.get("id")) == ticket_id else None
        if found is None:
            found = next((t for t in profile.tickets.values() if str(t.get("id")) == ticket_id), None)
        if found is None and profile.takes_keys:
            # Only where the profile says its tool takes keys (AZ-4 for work item 4204).
            found = next((t for t in profile.tickets.values() if t.get("number") == ticket_id), None)
        return found

    def shaped(profile: Profile, ticket: Obj, request: Request) -> Response:
        answer = shaped_ticket(profile, json.loads(json.dumps(ticket)), request.query_params)
        if answer is None:
            return envelope(400, "truto_response_format must be unified, raw, normalized or stream")
        return JSONResponse(answer)

    async def ticket(request: Request) -> Response:
        entry, outcome = await prelude(request)
        if isinstance(outcome, Response):
            return with_status(entry, outcome)
        ticket_id = request.path_params["ticket_id"]
        found = find_ticket(outcome, ticket_id)
        readable = found is not None and outcome.may_access(found)
        if found is None or (request.method == "GET" and not readable):
            # A person's account that may not see the ticket is told it does not exist, as the
            # trackers do (Jira answers 404 for an issue outside one's permissions).
            return with_status(entry, envelope(404, f"Ticket {ticket_id} not found"))
        if request.method == "GET":
            return with_status(entry, shaped(outcome, found, request))
        if request.method == "DELETE":
            return with_status(entry, delete(outcome, found, readable))
        if not readable or outcome.read_only:
            return with_status(
                entry,
                remote_refusal(outcome, 403, "permission", "you do not have permission to edit this issue"),
            )
        answer = patch(entry, outcome, found, request)
        if outcome.acting_user is not None and answer.status_code < 300:
            outcome.last_editors[str(found["id"])] = outcome.acting_user
        return with_status(entry, answer)

    def patch(entry: Recorded, profile: Profile, found: Obj, request: Request) -> Response:
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
        key, replay = replayed(entry)
        if replay is not None:
            return replay
        if not isinstance(entry.body, dict):
            return envelope(400, "The request body must be a JSON object")
        if "etag" in profile.required_query and given.get("etag") != found.get("etag"):
            return remote_refusal(
                profile, 409, "etag", "the work item changed since it was read (version conflict)"
            )
        try:
            with state._lock:
                apply_change(profile, found, entry.body)
                if "etag" in found:
                    found["etag"] = f'W/"{int(found["etag"][3:-1]) + 1}"'
                state.patches_applied += 1
                state.applied.append((str(found["id"]), entry.body))
        except Refused as refused:
            return refused.response
        state.webhooks.emit("updated", profile.integrated_account_id, json.loads(json.dumps(found)))
        answer = shaped(profile, found, request)
        if key and isinstance(answer, JSONResponse):
            state.idempotent[key] = (answer.status_code, json.loads(bytes(answer.body)))
        return answer

    def delete(profile: Profile, found: Obj, readable: bool) -> Response:
        """ "Delete Tickets": where the integration lists it (Jira, Linear; not Azure DevOps),
        announced as `record:deleted`. The real API's answer body is not documented; here: the
        id, as comment deletions answer."""
        if not profile.can_delete:
            return envelope(405, f"{profile.tool} does not support deleting tickets")
        if not readable or profile.read_only:
            return remote_refusal(
                profile, 403, "permission", "you do not have permission to delete this issue"
            )
        with state._lock:
            key = next(k for k, t in profile.tickets.items() if t is found)
            del profile.tickets[key]
        state.webhooks.emit("deleted", profile.integrated_account_id, {"id": found["id"]})
        return JSONResponse({"id": found["id"]})

    async def create(request: Request) -> Response:
        """POST /unified/ticketing/tickets ("Create Tickets"): the body as an update's, checked
        against the create meta (required fields and query parameters, required custom fields),
        answered with the new ticket (shaped as a GET's), announced as `record:created`; a
        repeated Idempotency-Key answers as the first call did and creates nothing. Whether the
        real API answers 201 or 200 is not documented (its page shows the response body only):
        201 here, and the bot takes any 2xx with a unified ticket in it."""
        entry, outcome = await prelude(request)
        if isinstance(outcome, Response):
            return with_status(entry, outcome)
        if not outcome.can_create:
            return with_status(entry, envelope(405, f"{outcome.tool} does not support creating tickets"))
        if outcome.read_only:
            return with_status(
                entry,
                remote_refusal(outcome, 403, "permission", "you do not have permission to create issues"),
            )
        query = dict(entry.query)
        missing = missing_query(outcome, query)
        if missing:
            return with_status(
                entry,
                envelope(
                    400,
                    f"Missing required query parameter(s): {', '.join(missing)}",
                    truto_error_insight={
                        "missing_required_query_parameters": insight(
                            "These query parameters are required by the unified model.", missing
                        )
                    },
                ),
            )
        key, replay = replayed(entry)
        if replay is not None:
            return with_status(entry, replay)
        if not isinstance(entry.body, dict):
            return with_status(entry, envelope(400, "The request body must be a JSON object"))
        try:
            with state._lock:
                ticket = new_ticket(outcome, entry.body, query)
                outcome.tickets[str(ticket["number"] if not outcome.takes_keys else ticket["id"])] = ticket
                state.created.append((str(ticket["id"]), entry.body))
        except Refused as refused:
            return with_status(entry, refused.response)
        state.webhooks.emit("created", outcome.integrated_account_id, json.loads(json.dumps(ticket)))
        answer = shaped(outcome, ticket, request)
        answer.status_code = 201
        if key:
            state.idempotent[key] = (201, json.loads(bytes(answer.body)))
        return with_status(entry, answer)

    def comment_ticket(profile: Profile, request: Request) -> str:
        """The ticket a comments call names, in the one form its integration takes."""
        if profile.comment_ticket_param == "ticket_id":
            return request.query_params.get("ticket_id") or ""
        return request.query_params.get("ticket[id]") or ""

    async def comments(request: Request) -> Response:
        """POST /unified/ticketing/comments (Truto's "Create Comments"): the ticket as the query
        parameter its integration takes (`ticket[id]`, or `ticket_id` for the one that takes
        that), `body` or `html_body` required, `author` where taken, nothing else. How the real
        API answers an integration without comment create is not documented; here: 405, as for
        updates."""
        entry, outcome = await prelude(request)
        if isinstance(outcome, Response):
            return with_status(entry, outcome)
        if not outcome.can_comment:
            return with_status(entry, envelope(405, f"{outcome.tool} does not support creating comments"))
        param = outcome.comment_ticket_param
        ticket_id = comment_ticket(outcome, request)
        if not ticket_id:
            named = "ticket[id]" if param == "ticket" else "ticket_id"
            return with_status(entry, envelope(400, f"{named} is required (query parameter)"))
        found = find_ticket(outcome, ticket_id)
        if found is None:
            return with_status(entry, envelope(404, f"Ticket {ticket_id} not found"))
        key, replay = replayed(entry)
        if replay is not None:
            return with_status(entry, replay)
        body = entry.body if isinstance(entry.body, dict) else {}
        accepted = {"body", "html_body", *(("author",) if outcome.comment_author else ())}
        unknown = sorted(set(body) - accepted)
        if unknown:
            return with_status(
                entry,
                envelope(
                    400, f"Unknown field(s) {', '.join(unknown)}; accepted: {', '.join(sorted(accepted))}"
                ),
            )
        text = body.get("body") or body.get("html_body")
        if not isinstance(text, str) or not text.strip():
            return with_status(entry, envelope(400, "One of body or html_body is required"))
        author = body.get("author")
        if author is not None and not (isinstance(author, dict) and isinstance(author.get("id"), str)):
            return with_status(entry, envelope(400, "author must be an object with an id"))
        comment = add_comment(
            outcome,
            found,
            {"body": body.get("body"), "html_body": body.get("html_body")},
            {**author, "type": author.get("type") or "user"} if author else outcome.integration_user(),
        )
        answer = JSONResponse({k: v for k, v in comment.items() if v is not None}, status_code=201)
        if key:
            state.idempotent[key] = (answer.status_code, json.loads(bytes(answer.body)))
        return with_status(entry, answer)

    def add_comment(profile: Profile, ticket: Obj, text: Obj, author: Obj | None) -> Obj:
        """Stored on the ticket and announced as `record:created` on comments, however it was
        made (through the API or in the tool: a tool's webhooks do not tell them apart)."""
        with state._lock:
            profile.comment_seq += 1
            now = _now()
            comment = {
                "id": f"c{profile.comment_seq}-{ticket['id']}",
                **text,
                "ticket": {"id": ticket["id"]},
                "author": author,
                "created_at": now,
                "updated_at": now,
            }
            profile.comments.setdefault(str(ticket["id"]), []).append(comment)
        shown = {k: v for k, v in comment.items() if v is not None}
        state.webhooks.emit("created", profile.integrated_account_id, shown, "comments")
        return comment

    def comment_by_id(profile: Profile, comment_id: str) -> tuple[list[Obj], Obj] | None:
        for made in profile.comments.values():
            for comment in made:
                if comment["id"] == comment_id:
                    return made, comment
        return None

    async def comment_change(request: Request) -> Response:
        """PATCH and DELETE /unified/ticketing/comments/{id} ("Update Comments", "Delete
        Comments"), where the integration lists them; announced as `record:updated` and
        `record:deleted`. Without them: 405, as for the other unsupported methods here."""
        entry, outcome = await prelude(request)
        if isinstance(outcome, Response):
            return with_status(entry, outcome)
        method = "update" if request.method == "PATCH" else "delete"
        if method not in outcome.comment_methods:
            return with_status(entry, envelope(405, f"{outcome.tool} does not support {method} of comments"))
        found = comment_by_id(outcome, request.path_params["comment_id"])
        if found is None:
            return with_status(entry, envelope(404, f"Comment {request.path_params['comment_id']} not found"))
        made, comment = found
        if method == "delete":
            with state._lock:
                made.remove(comment)
            deleted = {"id": comment["id"], "ticket": comment["ticket"]}
            state.webhooks.emit("deleted", outcome.integrated_account_id, deleted, "comments")
            return with_status(entry, JSONResponse(deleted))
        key, replay = replayed(entry)
        if replay is not None:
            return with_status(entry, replay)
        body = entry.body if isinstance(entry.body, dict) else {}
        text = body.get("body") or body.get("html_body")
        if not isinstance(text, str) or not text.strip() or set(body) - {"body", "html_body"}:
            return with_status(entry, envelope(400, "One of body or html_body is required, and nothing else"))
        with state._lock:
            comment.update(body=body.get("body"), html_body=body.get("html_body"))
            comment["updated_at"] = _now()
        shown = {k: v for k, v in comment.items() if v is not None}
        state.webhooks.emit("updated", outcome.integrated_account_id, shown, "comments")
        answer = JSONResponse(shown)
        if key:
            state.idempotent[key] = (answer.status_code, shown)
        return with_status(entry, answer)

    async def comment_in_tool(request: Request) -> Response:
        """A comment written in the tool itself (`{"body": …, "author": {"name": …}}`): stored
        and announced to the webhooks, as the tool would."""
        profile = state.profiles.get(request.path_params["account"])
        named = request.path_params["ticket_id"]  # its id, or its key (PROJ-42)
        found = (profile.tickets.get(named) or find_ticket(profile, named)) if profile is not None else None
        if profile is None or found is None:
            return envelope(404, f"Ticket {named} not found")
        data = await request.json()
        text = data.get("body") if isinstance(data, dict) else None
        if not isinstance(text, str) or not text.strip():
            return envelope(400, "body is required")
        author = data.get("author") if isinstance(data.get("author"), dict) else {"name": "Someone"}
        comment = add_comment(profile, found, {"body": text}, {**author, "type": "user"})
        return JSONResponse(comment, status_code=201)

    async def comment_list(request: Request) -> Response:
        """GET /unified/ticketing/comments ("List Comments"): one ticket's, in the list envelope."""
        entry, outcome = await prelude(request)
        if isinstance(outcome, Response):
            return with_status(entry, outcome)
        if not outcome.can_comment:
            return with_status(entry, envelope(404, f"comments are not supported by {outcome.tool}"))
        ticket_id = comment_ticket(outcome, request)
        found = find_ticket(outcome, ticket_id) if ticket_id else None
        if found is None:
            return with_status(
                entry,
                envelope(400 if not ticket_id else 404, f"Ticket {ticket_id or '(none given)'} not found"),
            )
        items = [
            {k: v for k, v in c.items() if v is not None} for c in outcome.comments.get(str(found["id"]), [])
        ]
        try:
            return with_status(entry, JSONResponse(unified_page(items, request.query_params)))
        except BadPage as bad:
            return with_status(entry, envelope(400, str(bad)))

    async def listing(request: Request) -> Response:
        entry, outcome = await prelude(request)
        if isinstance(outcome, Response):
            return with_status(entry, outcome)
        resource = request.path_params["resource"]
        items: list[Obj] | None = outcome.lists.get(resource)
        if resource == "tickets":
            # A person's account lists what that person may see in the tool, as the tool's own
            # list would (its projects), not the workspace's whole list. Only the page asked for
            # is shaped (a large tool's list costs a page's work, not the whole list's).
            visible = [t for t in outcome.tickets.values() if outcome.may_access(t)]
            try:
                page = unified_page(visible, request.query_params)
            except BadPage as bad:
                return with_status(entry, envelope(400, str(bad)))
            shaped = [
                shaped_ticket(outcome, json.loads(json.dumps(t)), request.query_params)
                for t in page["result"]
            ]
            form = request.query_params.get("truto_response_format") or "unified"
            if None in shaped or form not in ("unified", "normalized", "stream", "raw"):
                return with_status(entry, envelope(404, f"{resource} is not supported by {outcome.tool}"))
            return with_status(entry, JSONResponse({**page, "result": shaped}))
        if items is None:
            return with_status(entry, envelope(404, f"{resource} is not supported by {outcome.tool}"))
        try:
            return with_status(entry, JSONResponse(unified_page(items, request.query_params)))
        except BadPage as bad:
            return with_status(entry, envelope(400, str(bad)))

    async def meta(request: Request) -> Response:
        entry, outcome = await prelude(request)
        if isinstance(outcome, Response):
            return with_status(entry, outcome)
        resource, method = request.path_params["resource"], request.path_params["method"]
        if resource == "comments" and method == "create" and outcome.can_comment:
            return with_status(entry, JSONResponse(outcome.meta_comments_create()))
        answer = outcome.meta(method)
        if resource != "tickets" or answer is None:
            return with_status(entry, envelope(404, "No such meta endpoint"))
        return with_status(entry, JSONResponse(answer))

    async def capabilities(request: Request) -> Response:
        """The account is the one in the path; no query id is needed (documented)."""
        # A blocked account still answers here: its `account.is_blocked` says so.
        entry, outcome = await prelude(request, request.path_params["account_id"], blocked_ok=True)
        if isinstance(outcome, Response):
            return with_status(entry, outcome)
        return with_status(entry, JSONResponse(outcome.capabilities(request.query_params.get("type"))))

    async def integrated_accounts(request: Request) -> Response:
        entry, refused = await platform_prelude(request)
        if refused is not None:
            return with_status(entry, refused)
        records = [p.account_record() for p in state.profiles.values()]
        try:
            return with_status(entry, JSONResponse(platform_page(records, request.query_params)))
        except BadPage as bad:
            return with_status(entry, envelope(400, str(bad)))

    async def integrated_account(request: Request) -> Response:
        entry, refused = await platform_prelude(request)
        if refused is not None:
            return with_status(entry, refused)
        found = state.profiles.get(request.path_params["account_id"])
        if found is None:
            return with_status(
                entry, envelope(404, f"Integrated account {request.path_params['account_id']} not found")
            )
        if request.method == "DELETE":  # gone, and the platform says so to the webhooks
            del state.profiles[found.integrated_account_id]
            state.webhooks.emit_account("integrated_account:deleted", {"id": found.integrated_account_id})
            return with_status(entry, Response(status_code=204))
        return with_status(entry, JSONResponse(found.account_record()))

    async def webhooks(request: Request) -> Response:
        """POST creates (the secret is in this answer only), GET lists (the platform envelope)."""
        entry, refused = await platform_prelude(request)
        if refused is not None:
            return with_status(entry, refused)
        if request.method == "GET":
            found = [Webhooks.public(w) for w in state.webhooks.registered.values()]
            try:
                return with_status(entry, JSONResponse(platform_page(found, request.query_params)))
            except BadPage as bad:
                return with_status(entry, envelope(400, str(bad)))
        body = entry.body if isinstance(entry.body, dict) else {}
        target = body.get("target_url")
        if not isinstance(target, str) or not target.startswith(("http://", "https://")):
            return with_status(entry, envelope(400, "target_url must be an http(s) URL"))
        key, replay = replayed(entry)  # a retried create: the same webhook, the same secret
        if replay is not None:
            return with_status(entry, replay)
        created = state.webhooks.create(body)
        if key:
            state.idempotent[key] = (201, created)
        return with_status(entry, JSONResponse(created, status_code=201))

    async def webhook(request: Request) -> Response:
        """GET answers the webhook (no secret), PATCH updates it, DELETE answers `{id}`."""
        entry, refused = await platform_prelude(request)
        if refused is not None:
            return with_status(entry, refused)
        webhook_id = request.path_params["webhook_id"]
        found = state.webhooks.registered.get(webhook_id)
        if found is None:
            return with_status(entry, envelope(404, f"Webhook {webhook_id} not found"))
        if request.method == "DELETE":
            del state.webhooks.registered[webhook_id]
            return with_status(entry, JSONResponse({"id": webhook_id}))
        if request.method == "PATCH":
            changes = entry.body if isinstance(entry.body, dict) else None
            problem = Webhooks.update_problem(changes)
            if problem:
                return with_status(entry, envelope(400, problem))
            assert changes is not None
            state.webhooks.update(webhook_id, changes)
        return with_status(entry, JSONResponse(Webhooks.public(found)))

    async def webhook_test(request: Request) -> Response:
        """Documented: sends `test` (payload `{"foo": "bar"}`) to the webhook and answers
        `{"success": true}`, or an error envelope when the target does not answer 2xx."""
        entry, refused = await platform_prelude(request)
        if refused is not None:
            return with_status(entry, refused)
        webhook_id = entry.body.get("id") if isinstance(entry.body, dict) else None
        found = state.webhooks.registered.get(str(webhook_id))
        if found is None:
            return with_status(entry, envelope(404, f"Webhook {webhook_id} not found"))
        status = await state.webhooks.send_test(found)
        if status is None or not 200 <= status < 300:
            return with_status(entry, envelope(400, f"The target URL answered {status or 'nothing'}"))
        return with_status(entry, JSONResponse({"success": True}))

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
                apply_change(profile, found, await request.json())
        except Refused as refused:
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

    async def admin_tickets(request: Request) -> Response:
        """Add tickets to a profile (`{"account": …, "tickets": [{"id": …, …}]}`): a large tool
        for a benchmark."""
        data = await request.json()
        profile = state.profile(data["account"])
        with state._lock:
            for ticket in data["tickets"]:
                profile.tickets[str(ticket["id"])] = ticket
        return JSONResponse({"ok": True, "tickets": len(profile.tickets)})

    async def admin_reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"ok": True})

    async def admin_forget(request: Request) -> Response:
        state.requests.clear()
        return JSONResponse({"ok": True})

    async def admin_requests(request: Request) -> Response:
        rows = [
            {"method": r.method, "path": r.path, "status": r.status, "at": r.at}
            | ({"body": r.body} if r.method in ("POST", "PATCH") and r.path.endswith("/comments") else {})
            for r in state.calls()
        ]
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

    ticket, meta, listing, capabilities, comment_list = (
        counted(f) for f in (ticket, meta, listing, capabilities, comment_list)
    )

    async def unknown(request: Request, exc: Exception) -> Response:
        """Every unknown route or method is answered in the documented error envelope."""
        status = exc.status_code if isinstance(exc, HTTPException) else 500
        text = {404: "Route not found", 405: "Method not allowed"}.get(status, "Error")
        return envelope(status, f"{text}: {request.method} {request.url.path}")

    return Starlette(
        routes=[
            Route("/unified/ticketing/tickets/{ticket_id}", ticket, methods=["GET", "PATCH", "DELETE"]),
            Route("/unified/ticketing/tickets", create, methods=["POST"]),
            Route("/unified/ticketing/comments", comments, methods=["POST"]),
            Route("/unified/ticketing/comments", comment_list, methods=["GET"]),
            Route("/unified/ticketing/comments/{comment_id}", comment_change, methods=["PATCH", "DELETE"]),
            Route("/unified/ticketing/{resource}/meta/{method}", meta, methods=["GET"]),
            Route("/unified/ticketing/{resource}", listing, methods=["GET"]),
            Route("/integrated-account", integrated_accounts, methods=["GET"]),
            Route("/integrated-account/{account_id}", integrated_account, methods=["GET", "DELETE"]),
            Route("/integrated-account/{account_id}/capabilities", capabilities, methods=["GET"]),
            Route("/webhook", webhooks, methods=["GET", "POST"]),
            Route("/webhook/test", webhook_test, methods=["POST"]),
            Route("/webhook/{webhook_id}", webhook, methods=["GET", "PATCH", "DELETE"]),
            Route("/_sandbox/tickets/{account}/{ticket_id}", change_in_tool, methods=["PATCH", "DELETE"]),
            *connect_routes(state, authorised),
            Route("/_sandbox/comments/{account}/{ticket_id}", comment_in_tool, methods=["POST"]),
            Route("/_sandbox/faults", admin_faults, methods=["POST"]),
            Route("/_sandbox/latency", admin_latency, methods=["POST"]),
            Route("/_sandbox/reset", admin_reset, methods=["POST"]),
            Route("/_sandbox/lists", admin_lists, methods=["POST"]),
            Route("/_sandbox/tickets", admin_tickets, methods=["POST"]),
            Route("/_sandbox/forget", admin_forget, methods=["POST"]),
            Route("/_sandbox/requests", admin_requests, methods=["GET"]),
        ],
        exception_handlers={404: unknown, 405: unknown},
    )
