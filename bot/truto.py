"""The unified ticketing API client: one shared httpx.AsyncClient, retries, pagination.

Retries: 429 waits for `Retry-After` unless that would pass the deadline (then RateLimited
carries the wait); 500/502/503/504 and connection errors back off with jitter; at most
`max_tries` tries; other 4xx never retry. Every PATCH carries one Idempotency-Key for all
of its tries.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from pydantic import SecretStr, ValidationError

from bot.config import Account
from bot.metrics import API_RETRIES, API_SECONDS
from bot.models import JsonDict, Ticket, TicketUpdate, UpdateQuery, encode_query
from bot.ratelimit import RateLimiter
from bot.truto_errors import RateLimited, TrutoError, Unavailable, error_from_response

log = logging.getLogger(__name__)

RETRY_STATUSES = frozenset({500, 502, 503, 504})
TICKETS_PATH = "/unified/ticketing/tickets"


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
    max_tries: int = 3
    backoff_base: float = 0.25  # seconds; doubled each try, jittered ±50 %
    backoff_cap: float = 4.0
    rate_limit_deadline: float = 10.0  # never wait past this many seconds for a 429

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
    ) -> None:
        self.limiter = limiter
        self._timeout = timeout
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            auth=_BearerAuth(token),
            timeout=httpx.Timeout(timeout, connect=connect_timeout),
            headers={"Accept": "application/json", "User-Agent": "ticketbot/0.1"},
            transport=transport,
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
        data = await self._request(
            "GET", f"{TICKETS_PATH}/{ticket_id}", self._base_query(account), "get_ticket"
        )
        return _ticket(data)

    async def update_ticket(
        self,
        ticket_id: str,
        update: TicketUpdate,
        query: UpdateQuery,
        *,
        idempotency_key: str | None = None,
    ) -> Ticket:
        key = idempotency_key or uuid.uuid4().hex
        data = await self._request(
            "PATCH",
            f"{TICKETS_PATH}/{ticket_id}",
            query.to_params(),
            "update_ticket",
            json=update.to_body(),
            headers={"Idempotency-Key": key},
        )
        return _ticket(data)

    async def list_all(
        self, account: Account, resource: str, *, limit: int = 100, params: JsonDict | None = None
    ) -> AsyncIterator[JsonDict]:
        """Every item of a list resource, following `next_cursor` page by page."""
        cursor: str | None = None
        while True:
            query = {**(params or {}), "limit": limit}
            if cursor:
                query["next_cursor"] = cursor
            page = await self._request(
                "GET",
                f"/unified/ticketing/{resource}",
                self._base_query(account) + encode_query(query),
                f"list {resource}",
            )
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
        )

    async def capabilities(self, account: Account) -> JsonDict:
        return await self._request(
            "GET",
            f"/integrated-account/{account.integrated_account_id}/capabilities",
            [*self._base_query(account), ("type", "unified")],
            "capabilities",
        )

    # -- plumbing --------------------------------------------------------------------

    @staticmethod
    def _base_query(account: Account) -> list[tuple[str, str]]:
        return [
            ("integrated_account_id", account.integrated_account_id),
            *encode_query(dict(account.query)),
        ]

    async def _request(
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
        deadline = time.monotonic() + policy.rate_limit_deadline
        account = next((value for name, value in params if name == "integrated_account_id"), "")
        for attempt in range(1, policy.max_tries + 1):
            last = attempt == policy.max_tries
            if self.limiter is not None:
                await self.limiter.acquire(account)  # stay under the per-account budget
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
                data = response.json() if response.content else {}
                return data if isinstance(data, dict) else {"result": data}
            if status == 429:
                wait = _retry_after(response)
                if last or time.monotonic() + wait > deadline:
                    raise RateLimited(
                        f"{operation}: HTTP 429, retry after {wait:.1f}s", retry_after=wait, status=429
                    )
                log.warning("%s rate limited, waiting %.1fs (try %d)", operation, wait, attempt)
                API_RETRIES.labels(operation, "429").inc()
                await self._sleep(wait)
                continue
            if status in RETRY_STATUSES and not last:
                log.warning("%s got HTTP %d, try %d of %d", operation, status, attempt, policy.max_tries)
                API_RETRIES.labels(operation, str(status)).inc()
                await self._sleep(policy.backoff(attempt))
                continue
            error = error_from_response(status, _envelope(response), operation)
            log.info("%s failed: %s", operation, error.detail)
            raise error
        raise AssertionError("unreachable: the loop returns or raises")


def _ticket(data: JsonDict) -> Ticket:
    try:
        return Ticket.model_validate(data)
    except ValidationError as exc:
        raise TrutoError(f"unexpected ticket shape: {exc.error_count()} problems") from None
