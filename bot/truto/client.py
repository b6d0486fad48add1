"""The unified ticketing API client: one shared httpx.AsyncClient, retries, pagination.

Retries (RetryPolicy, the reference's rule): 429 waits for `Retry-After` unless that would pass
the patience of the work at hand (then RateLimited carries the wait); any 5xx of Truto's own, a
provider's 5xx, 408, 425 and connection errors back off with jitter, at most `max_tries` tries;
Truto's own 503 (a blocked account) and other 4xx never retry. Every PATCH carries one
Idempotency-Key for all of its tries.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import hashlib
import logging
import random
import ssl
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr, ValidationError

from bot.domain.accounts import Account
from bot.domain.models import JsonDict, Ticket, TicketUpdate, UpdateQuery, encode_query
from bot.ops import patience
from bot.ops.metrics import API_RETRIES, API_SECONDS
from bot.truto.errors import RateLimited, TrutoError, Unavailable, error_from_response
from bot.truto.ratelimit import RateLimiter

log = logging.getLogger(__name__)

# Every lookup list and ticket read: the bot drops remote_data anyway; less to download and parse.
LEAN = [("truto_ignore_remote_data", "true")]
WEBHOOK_PATH = "/webhook"
BULK: contextvars.ContextVar[bool] = contextvars.ContextVar("bulk", default=False)  # bulk update work
TICKETS_PATH = "/unified/ticketing/tickets"


@dataclass
class ListInfo:
    partial: bool = False  # some page said is_partial_response: the list may be incomplete


class _BearerAuth(httpx.Auth):
    """Adds the token at send time so it lives in no header dict, repr or log."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        yield request

    def __repr__(self) -> str:
        return "_BearerAuth(token=**********)"


@dataclass(frozen=True)
class RetryPolicy:
    """Retries by the documented rule: 429 after its Retry-After (as often as the patience of
    the work at hand allows: bot/ops/patience.py), 500/502/504 and a provider's other 5xx with
    jittered backoff, connection errors likewise; never 400/401/403/404/405/409/422/503."""

    max_tries: int = 3  # for 5xx and connection errors
    max_rate_limited: int = 30  # 429s waited out in one call, within the patience
    backoff_base: float = 0.25  # seconds; doubled each try, jittered ±50 %
    backoff_cap: float = 4.0

    def backoff(self, attempt: int) -> float:
        delay: float = min(self.backoff_cap, self.backoff_base * 2.0 ** (attempt - 1))
        return delay * random.uniform(0.5, 1.5)


def _retry_after(response: httpx.Response) -> float:
    header = response.headers.get("retry-after") or response.headers.get("ratelimit-reset")
    if header:
        try:
            return max(0.0, float(header))
        except ValueError:
            try:
                return max(0.0, float(parsedate_to_datetime(header).timestamp()) - time.time())
            except (TypeError, ValueError):
                pass
    return 10.0  # the API's own default window


def _envelope(response: httpx.Response) -> dict[str, Any] | None:
    try:
        data = response.json()
    except ValueError:
        return {"message": response.text[:300]} if response.text else None
    return data if isinstance(data, dict) else None


Sleep = Callable[[float], Awaitable[None]]


@functools.cache
def tls_context() -> ssl.SSLContext:
    """One verifying TLS context per process: loading the CA bundle costs about 50 ms, and
    httpx would load it again for every client."""
    return ssl.create_default_context()


class TrutoClient:
    """Calls the unified ticketing API for one API token."""

    def __init__(
        self,
        base_url: str,
        token: SecretStr,
        *,
        connect_timeout: float = 5.0,
        timeout: float = 15.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        limiter: RateLimiter | None = None,
        token_limiter: RateLimiter | None = None,
        bulk_limiter: RateLimiter | None = None,
    ) -> None:
        self.limiter = limiter  # each account's budget
        self.token_limiter = token_limiter  # the per-token budget (several accounts)
        self.bulk_limiter = bulk_limiter  # bulk updates' share of an account's budget
        self._token_key = "token-" + hashlib.sha256(token.get_secret_value().encode()).hexdigest()[:16]
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            auth=_BearerAuth(token),
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            headers={"Accept": "application/json", "User-Agent": "ticketbot/0.1"},
            transport=transport,
            verify=tls_context(),
        )

    def __repr__(self) -> str:
        return f"TrutoClient(base_url={str(self._http.base_url)!r})"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> TrutoClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- the calls -------------------------------------------------------------------

    async def get_ticket(self, account: Account, ticket_id: str) -> Ticket:
        """The ticket in the unified shape (whatever format updates are configured to answer in),
        without remote_data, which the bot never reads."""
        params = [
            (name, value)
            for name, value in self._base_query(account, "get")
            if name != "truto_response_format"
        ]
        data = await self._request(
            "GET", f"{TICKETS_PATH}/{ticket_id}", [*params, *LEAN], "get_ticket", tool=account.display_tool
        )
        return _ticket(data)

    async def update_ticket(
        self,
        ticket_id: str,
        update: TicketUpdate,
        query: UpdateQuery,
        *,
        idempotency_key: str | None = None,
        account: Account | None = None,
    ) -> Ticket:
        """PATCH once (with retries under one Idempotency-Key). A 2xx is a success whatever its
        body: when it is not a unified ticket (an empty raw answer, Jira's 204, another format),
        the ticket is read back (unified) for the card."""
        key = idempotency_key or uuid.uuid4().hex
        data = await self._request(
            "PATCH",
            f"{TICKETS_PATH}/{ticket_id}",
            query.to_params(),
            "update_ticket",
            json=update.to_body(),
            headers={"Idempotency-Key": key},
            tool=account.display_tool if account is not None else None,
        )
        try:
            return _ticket(data)
        except TrutoError:
            if account is None:
                raise
            log.info("update_ticket answered 2xx without a unified ticket; reading it back")
            return await self.get_ticket(account, ticket_id)

    async def create_ticket(
        self, account: Account, body: JsonDict, query: list[tuple[str, str]], *, idempotency_key: str
    ) -> Ticket:
        """`POST /unified/ticketing/tickets` ("Create Tickets") once, with retries under one
        Idempotency-Key: a retried or repeated create makes one ticket. A 2xx without a unified
        ticket whose id can be read is an error: the bot cannot show or undo what it cannot name."""
        data = await self._request(
            "POST",
            TICKETS_PATH,
            [*self._base_query(account, "create"), *query],
            "create_ticket",
            json=body,
            headers={"Idempotency-Key": idempotency_key},
            tool=account.display_tool,
        )
        return _ticket(data)

    async def delete_ticket(self, account: Account, ticket_id: str) -> None:
        """`DELETE /unified/ticketing/tickets/{id}` ("Delete Tickets")."""
        await self._request(
            "DELETE",
            f"{TICKETS_PATH}/{quote(ticket_id, safe='')}",
            self._base_query(account),
            "delete_ticket",
            tool=account.display_tool,
        )

    async def list_all(
        self,
        account: Account,
        resource: str,
        *,
        limit: int = 100,
        params: JsonDict | None = None,
        info: ListInfo | None = None,
    ) -> AsyncIterator[JsonDict]:
        """Every item of a list resource, following `next_cursor` page by page. A page marked
        `is_partial_response` is used, and `info.partial` says the list may be incomplete."""
        cursor: str | None = None
        while True:
            query = {**(params or {}), "limit": limit}
            if cursor:
                query["next_cursor"] = cursor
            page = await self._request(
                "GET",
                f"/unified/ticketing/{resource}",
                self._base_query(account, "list") + encode_query(query) + LEAN,
                f"list {resource}",
                tool=account.display_tool,
            )
            if page.get("is_partial_response") is True and info is not None:
                info.partial = True
            for item in page.get("result") or []:
                if isinstance(item, dict):
                    yield item
            cursor = page.get("next_cursor")
            if not cursor:
                return

    async def meta(self, account: Account, resource: str, method: str) -> JsonDict:
        return await self._request(
            "GET",
            f"/unified/ticketing/{resource}/meta/{method}",
            self._base_query(account),
            f"meta {resource}",
            tool=account.display_tool,
        )

    async def capabilities(self, account: Account) -> JsonDict:
        return await self._request(
            "GET",
            f"/integrated-account/{account.integrated_account_id}/capabilities",
            [*self._base_query(account), ("type", "unified")],
            "capabilities",
            tool=account.display_tool,
        )

    # -- webhooks (environment-wide: no integrated account) ------------------------

    async def create_webhook(
        self, target_url: str, event_types: list[str], *, idempotency_key: str | None = None
    ) -> JsonDict:
        """The new webhook; its `secret` is in this answer only. One Idempotency-Key for every
        try: a create retried after a lost answer makes one webhook (with one secret), not two."""
        body: JsonDict = {"target_url": target_url, "event_types": event_types, "is_active": True}
        headers = {"Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        return await self._request("POST", WEBHOOK_PATH, [], "create_webhook", json=body, headers=headers)

    async def list_webhooks(self) -> list[JsonDict]:
        webhooks: list[JsonDict] = []
        cursor: str | None = None
        while True:
            params = [("next_cursor", cursor)] if cursor else []
            page = await self._request("GET", WEBHOOK_PATH, params, "list_webhooks")
            webhooks += [w for w in page.get("result") or [] if isinstance(w, dict)]
            cursor = page.get("next_cursor")
            if not cursor:
                return webhooks

    async def delete_webhook(self, webhook_id: str) -> None:
        path = f"{WEBHOOK_PATH}/{quote(webhook_id, safe='')}"
        await self._request("DELETE", path, [], "delete_webhook")

    async def create_comment(
        self,
        account: Account,
        ticket_id: str,
        body: str,
        *,
        idempotency_key: str,
        ticket_param: str = "ticket",
        author: JsonDict | None = None,
    ) -> JsonDict:
        """`POST /unified/ticketing/comments` (Truto's "Create Comments": the ticket as a query
        parameter, `ticket[id]` or, for the one integration that takes it, `ticket_id`; the
        text as `body`, the tool user who writes it as `author` where the tool takes one); one
        Idempotency-Key for every try."""
        where = ("ticket_id", ticket_id) if ticket_param == "ticket_id" else ("ticket[id]", ticket_id)
        sent: JsonDict = {"body": body, **({"author": author} if author else {})}
        return await self._request(
            "POST",
            "/unified/ticketing/comments",
            [*self._base_query(account), where],
            "create_comment",
            json=sent,
            headers={"Idempotency-Key": idempotency_key},
            tool=account.display_tool,
        )

    async def list_comments(
        self, account: Account, ticket_id: str, *, ticket_param: str = "ticket", limit: int = 20
    ) -> list[JsonDict]:
        """One page of a ticket's comments (Truto's "List Comments"): in the order the tool gives
        them, which the API does not document for every integration (callers sort)."""
        where = ("ticket_id", ticket_id) if ticket_param == "ticket_id" else ("ticket[id]", ticket_id)
        page = await self._request(
            "GET",
            "/unified/ticketing/comments",
            [*self._base_query(account, "list"), where, *encode_query({"limit": limit}), *LEAN],
            "list comments",
            tool=account.display_tool,
        )
        return [item for item in page.get("result") or [] if isinstance(item, dict)]

    async def update_comment(
        self,
        account: Account,
        comment_id: str,
        ticket_id: str,
        body: str,
        *,
        idempotency_key: str,
        ticket_param: str = "ticket",
    ) -> JsonDict:
        """`PATCH /unified/ticketing/comments/{id}` ("Update Comments"; the ticket as the same
        query parameter as for creating, which some integrations require)."""
        where = ("ticket_id", ticket_id) if ticket_param == "ticket_id" else ("ticket[id]", ticket_id)
        return await self._request(
            "PATCH",
            f"/unified/ticketing/comments/{quote(comment_id, safe='')}",
            [*self._base_query(account), where],
            "update_comment",
            json={"body": body},
            headers={"Idempotency-Key": idempotency_key},
            tool=account.display_tool,
        )

    async def delete_comment(self, account: Account, comment_id: str) -> None:
        """`DELETE /unified/ticketing/comments/{id}` ("Delete Comments")."""
        await self._request(
            "DELETE",
            f"/unified/ticketing/comments/{quote(comment_id, safe='')}",
            self._base_query(account),
            "delete_comment",
            tool=account.display_tool,
        )

    # -- connecting accounts (connection-flow.md) ---------------------------------------

    async def delete_integrated_account(self, integrated_account_id: str) -> None:
        """`DELETE /integrated-account/{id}`: the connection removed in the unified API too."""
        await self._request("DELETE", f"/integrated-account/{integrated_account_id}", [], "delete_account")

    async def create_link_token(
        self, *, tenant_id: str | None = None, integrated_account_id: str | None = None
    ) -> str:
        """A single-use link token for the hosted connect page: a new account for `tenant_id`,
        or a reconnect of `integrated_account_id` (its context kept). One flow per token."""
        body: JsonDict = (
            {"integrated_account_id": integrated_account_id, "persist_previous_context": True}
            if integrated_account_id
            else {"tenant_id": tenant_id}
        )
        answer = await self._request("POST", "/link-token", [], "link_token", json=body)
        token = answer.get("link_token")
        if not isinstance(token, str) or not token:
            raise Unavailable("the unified API answered a link token request without a token")
        return token

    # -- plumbing --------------------------------------------------------------------

    @staticmethod
    def _base_query(account: Account, operation: str = "all") -> list[tuple[str, str]]:
        return [
            ("integrated_account_id", account.integrated_account_id),
            *encode_query(dict(account.query.for_operation(operation))),
        ]

    async def _within_budgets(self, account: str) -> None:
        """Stay under the per-account budget and, when several accounts share the token, the
        per-token one. Work for a bulk update also stays within its share of the account's
        budget, so single updates sent meanwhile are not starved."""
        if BULK.get() and self.bulk_limiter is not None:
            await self.bulk_limiter.acquire(f"{account}:bulk")
        if self.limiter is not None:
            await self.limiter.acquire(account)
        if self.token_limiter is not None:
            await self.token_limiter.acquire(self._token_key)

    async def _request(
        self,
        method: str,
        path: str,
        params: list[tuple[str, str]],
        operation: str,
        *,
        json: JsonDict | None = None,
        headers: dict[str, str] | None = None,
        tool: str | None = None,
    ) -> JsonDict:
        """One call with its retries; an error's message names `tool` (the account's) when given."""
        try:
            return await self._request_once(method, path, params, operation, json=json, headers=headers)
        except TrutoError as exc:
            raise exc.naming(tool) from None

    async def _request_once(
        self,
        method: str,
        path: str,
        params: list[tuple[str, str]],
        operation: str,
        *,
        json: JsonDict | None = None,
        headers: dict[str, str] | None = None,
    ) -> JsonDict:
        policy = self._retry
        deadline = time.monotonic() + patience.seconds()
        account = next((value for name, value in params if name == "integrated_account_id"), "")
        attempt = 0
        rate_limited = 0
        while True:
            attempt += 1
            last = attempt >= policy.max_tries
            await self._within_budgets(account)
            started = time.monotonic()
            try:
                async with asyncio.timeout(self._timeout):
                    response = await self._http.request(
                        method, path, params=tuple(params), json=json, headers=headers
                    )
            except (httpx.TransportError, TimeoutError) as exc:
                kind = type(exc).__name__
                API_SECONDS.labels(operation, kind).observe(time.monotonic() - started)
                log.warning("%s failed (%s), try %d of %d", operation, kind, attempt, policy.max_tries)
                if last:
                    raise Unavailable(f"{operation}: {kind} after {attempt} tries") from None
                API_RETRIES.labels(operation, kind).inc()
                await self._sleep(policy.backoff(attempt))
                continue
            status = response.status_code
            API_SECONDS.labels(operation, str(status)).observe(time.monotonic() - started)
            if response.is_success:
                return _success_body(response)
            if status == 429:
                # Truto's own 429 and a provider's forwarded one both carry Retry-After.
                wait = _retry_after(response)
                rate_limited += 1
                attempt -= 1  # waiting out a 429 is not a failed try
                if rate_limited > policy.max_rate_limited or time.monotonic() + wait > deadline:
                    raise RateLimited(
                        f"{operation}: HTTP 429, retry after {wait:.1f}s", retry_after=wait, status=429
                    )
                log.warning("%s rate limited, waiting %.1fs", operation, wait)
                API_RETRIES.labels(operation, "429").inc()
                await patience.waiting(wait)
                await self._sleep(wait)
                continue
            envelope = _envelope(response)
            if _retryable(status, envelope) and not last:
                log.warning("%s got HTTP %d, try %d of %d", operation, status, attempt, policy.max_tries)
                API_RETRIES.labels(operation, str(status)).inc()
                await self._sleep(policy.backoff(attempt))
                continue
            error = error_from_response(status, envelope, operation)
            log.info("%s failed: %s", operation, error.detail)
            raise error
        raise AssertionError("unreachable: the loop returns or raises")


def _retryable(status: int, envelope: JsonDict | None) -> bool:
    """The reference's retry rule (error-and-evidence-model): any 5xx Truto answers itself (no
    `truto_is_remote_error`), and a provider's 5xx (a flaky upstream: backoff, capped tries), but
    never Truto's own 503 (the account is blocked). 408 and 425 are not in its table; they mean
    "nothing was done, send it again" (RFC 9110, RFC 8470), so they are retried too."""
    remote = (envelope or {}).get("truto_is_remote_error") is True
    if status in (408, 425):
        return True
    if status == 503:
        return remote
    return status >= 500


def _success_body(response: httpx.Response) -> JsonDict:
    """A 2xx is a success whatever its body: empty (a raw 204), not JSON, or not an object."""
    if not response.content:
        return {}
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {"result": data}


def _ticket(data: JsonDict) -> Ticket:
    try:
        return Ticket.model_validate(data)
    except ValidationError as exc:
        raise TrutoError(f"unexpected ticket shape: {exc.error_count()} problems") from None
