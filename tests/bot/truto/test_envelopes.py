"""The client against the documented envelopes (httpx.MockTransport): every error kind keeps its
cause, 429 waits its Retry-After, a 2xx without a ticket is read back, partial lists are marked."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bot.domain.accounts import Account, AccountQuery
from bot.domain.models import Ref, TicketUpdate, UpdateQuery
from bot.ops import patience
from bot.ops.config import ConfigError, load_config
from bot.service.lookups import PARTIAL_TTL, Lookups
from bot.store.cache import Cache, MemoryBackend
from bot.store.keys import cache_key
from bot.truto.client import TrutoClient
from bot.truto.discovery import Abilities, abilities_from
from bot.truto.errors import (
    Blocked,
    Forbidden,
    NotAllowed,
    RateLimited,
    RemoteError,
    TokenInvalid,
    TrutoError,
    Unauthorized,
    ValidationFailed,
)
from tests.conftest import SleepRecorder

ACCOUNT = Account(name="jira", integrated_account_id="ia-1", tool="Jira")
QUERY = UpdateQuery(integrated_account_id="ia-1")
DONE = TicketUpdate(status=Ref(id="js4", name="Done"))
TICKET = {"id": "10042", "number": "PROJ-42", "name": "Login", "status": {"id": "js4", "name": "Done"}}


def client(answers: list[httpx.Response], seen: list[httpx.Request], sleeps: SleepRecorder) -> TrutoClient:
    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return answers.pop(0)

    return TrutoClient(
        "https://api.truto.example", SecretStr("t"), transport=httpx.MockTransport(answer), sleep=sleeps
    )


def error(status: int, **body: Any) -> httpx.Response:
    reasons = {400: "Bad Request", 401: "Unauthorized", 403: "Forbidden", 405: "Method Not Allowed"}
    envelope = {"statusCode": status, "error": reasons.get(status, "Error"), "message": "", **body}
    return httpx.Response(status, json=envelope)


CASES: list[tuple[httpx.Response, type[TrutoError], str]] = [
    (
        error(
            400,
            truto_error_insight={
                "missing_required_body_fields": {"description": "Required", "value": ["resolution"]},
                "conditionally_required_body_fields": {"description": "Rule", "value": {"due_date": "x"}},
            },
        ),
        ValidationFailed,
        "The ticketing tool needs resolution for this change.",
    ),
    (
        error(
            400,
            truto_error_insight={
                "missing_required_query_parameters": {"description": "Required", "value": ["workspace_id"]}
            },
        ),
        ValidationFailed,
        "The ticketing tool needs workspace_id (query) for this change.",
    ),
    (
        error(
            400,
            truto_is_remote_error=True,
            raw_response={
                "errorMessages": ["Field 'resolution' is required"],
                "errors": {"fixVersions": "bad"},
            },
            truto_error_insight={"remote_error": {"description": "Remote"}},
        ),
        ValidationFailed,
        "The ticketing tool refused the change: Field 'resolution' is required; fixVersions: bad.",
    ),
    (
        error(
            422,
            truto_is_remote_error=True,
            raw_response={"errors": [{"message": "Cycle not found", "extensions": {"code": "BAD"}}]},
        ),
        RemoteError,
        "The ticketing tool refused the change: Cycle not found.",
    ),
    (
        error(409, truto_is_remote_error=True, raw_response='{"message": "Duplicate key <@U1>"}'),
        RemoteError,
        "The ticketing tool refused the change: Duplicate key <@U1>.",
    ),
    (error(401, message="Invalid API token"), TokenInvalid, "TRUTO_API_TOKEN"),
    (
        error(401, truto_is_remote_error=True, raw_response={"message": "token revoked"}),
        Unauthorized,
        "needs to be re-authorised (the tool refused its credentials) (token revoked)",
    ),
    (
        error(
            403,
            truto_is_remote_error=True,
            truto_error_insight={
                "forbidden_error": {"description": "Scopes", "value": {"missing_scopes": ["write:jira-work"]}}
            },
        ),
        Forbidden,
        "missing scopes: write:jira-work",
    ),
    (error(405, message="Method not allowed on a sandbox account"), NotAllowed, "sandbox or read-only"),
    (error(503, message="Integrated account is blocked"), Blocked, "has blocked this connected account"),
]


@pytest.mark.parametrize(("response", "kind", "said"), CASES)
async def test_each_error_keeps_its_cause_and_is_not_retried(
    response: httpx.Response, kind: type[TrutoError], said: str, sleeps: SleepRecorder
) -> None:
    seen: list[httpx.Request] = []
    async with client([response], seen, sleeps) as truto:
        with pytest.raises(kind) as caught:
            await truto.update_ticket("10042", DONE, QUERY)
    assert said in caught.value.user_message
    assert len(seen) == 1 and sleeps.waits == []


@pytest.mark.parametrize("status", [500, 502, 504])
async def test_5xx_are_retried_with_backoff(status: int, sleeps: SleepRecorder) -> None:
    seen: list[httpx.Request] = []
    answers = [error(status), error(status), httpx.Response(200, json=TICKET)]
    async with client(answers, seen, sleeps) as truto:
        await truto.update_ticket("10042", DONE, QUERY, idempotency_key="k")
    assert len(seen) == 3 and len(sleeps.waits) == 2
    assert {r.headers["idempotency-key"] for r in seen} == {"k"}


async def test_a_providers_other_5xx_is_retried(sleeps: SleepRecorder) -> None:
    seen: list[httpx.Request] = []
    answers = [error(501, truto_is_remote_error=True), httpx.Response(200, json=TICKET)]
    async with client(answers, seen, sleeps) as truto:
        await truto.get_ticket(ACCOUNT, "10042")
    assert len(seen) == 2


async def test_truto_429_waits_its_retry_after_of_10_s_in_a_job(sleeps: SleepRecorder) -> None:
    seen: list[httpx.Request] = []
    limited = httpx.Response(
        429,
        headers={"Retry-After": "10"},
        json={"statusCode": 429, "error": "Too Many Requests", "message": ""},
    )
    answers = [limited, limited, limited, httpx.Response(200, json=TICKET)]
    async with client(answers, seen, sleeps) as truto:
        with patience.patient(180):
            ticket = await truto.update_ticket("10042", DONE, QUERY)
    assert ticket.id == "10042"
    assert sleeps.waits == [10.0, 10.0, 10.0]  # three 429s do not use up the three tries


async def test_429_beyond_the_patience_is_reported_with_the_wait(sleeps: SleepRecorder) -> None:
    seen: list[httpx.Request] = []
    limited = httpx.Response(429, headers={"Retry-After": "10"}, json={"statusCode": 429})
    async with client([limited], seen, sleeps) as truto:
        with patience.patient(5), pytest.raises(RateLimited) as caught:
            await truto.get_ticket(ACCOUNT, "10042")
    assert caught.value.retry_after == 10.0 and sleeps.waits == []


async def test_a_204_raw_answer_is_a_success_and_the_ticket_is_read_back(sleeps: SleepRecorder) -> None:
    seen: list[httpx.Request] = []
    answers = [httpx.Response(204), httpx.Response(200, json=TICKET)]
    query = UpdateQuery(integrated_account_id="ia-1", truto_response_format="raw")
    async with client(answers, seen, sleeps) as truto:
        ticket = await truto.update_ticket("10042", DONE, query, account=ACCOUNT)
    assert ticket.number == "PROJ-42"
    patch, get = seen
    assert (patch.method, get.method) == ("PATCH", "GET")
    assert "truto_response_format" not in str(get.url)  # read back in the unified shape


async def test_a_raw_provider_body_is_a_success_too(sleeps: SleepRecorder) -> None:
    seen: list[httpx.Request] = []
    answers = [httpx.Response(200, json={"key": "PROJ-42", "fields": {}}), httpx.Response(200, json=TICKET)]
    async with client(answers, seen, sleeps) as truto:
        ticket = await truto.update_ticket("10042", DONE, QUERY, account=ACCOUNT)
    assert ticket.id == "10042" and len(seen) == 2


async def test_a_partial_list_is_used_but_not_kept_as_complete(sleeps: SleepRecorder) -> None:
    seen: list[httpx.Request] = []
    page = {"result": [{"id": "t1", "name": "backend"}], "next_cursor": None, "is_partial_response": True}
    answers = [httpx.Response(200, json=page)]
    cache = Cache(MemoryBackend())
    async with client(answers, seen, sleeps) as truto:
        lookups = Lookups(truto, cache, ttl=600.0)
        found = await lookups.get(ACCOUNT, "tags")
    assert found.names == ["backend"]  # used
    entry = await cache.backend.get(cache_key(ACCOUNT, "lookup", "tags"))
    assert entry is not None and entry.fresh_until <= time.time() + PARTIAL_TTL  # asked again soon
    assert ("truto_ignore_remote_data", "true") in seen[0].url.params.multi_items()


def test_query_by_operation_and_encoding() -> None:
    query = AccountQuery.model_validate(
        {
            "all": {"workspace_id": "ws1"},
            "update": {"truto_exclude_fields": ["remote_data", "raw"], "remote_query": {"expand": "names"}},
            "list": {"limit_to": 5},
        }
    )
    assert query.for_operation("update") == {
        "workspace_id": "ws1",
        "truto_exclude_fields": ["remote_data", "raw"],
        "remote_query": {"expand": "names"},
    }
    assert query.for_operation("list") == {"workspace_id": "ws1", "limit_to": 5}
    assert AccountQuery.model_validate({"workspace_id": "ws1"}).for_operation("get") == {
        "workspace_id": "ws1"
    }


@pytest.mark.parametrize(
    ("query", "said"),
    [
        ("update:\n        remote_query: [[1, 2]]", "accounts.jira.query.update.remote_query"),
        ("all:\n        etag: abc", "all.etag: changes with every version of a ticket"),
    ],
)
def test_a_bad_query_value_is_a_configuration_error_naming_the_key(
    tmp_path: Any, monkeypatch: Any, query: str, said: str
) -> None:
    path = tmp_path / "ticketbot.yml"
    path.write_text(f"accounts:\n  jira:\n    integrated_account_id: ia-1\n    query:\n      {query}\n")
    monkeypatch.setenv("TICKETBOT_CONFIG", str(path))
    with pytest.raises(ConfigError) as caught:
        load_config()
    assert said in str(caught.value)


def test_meta_schemas_in_either_shape_and_defaults(caplog: pytest.LogCaptureFixture) -> None:
    capabilities = {"unified": [{"model": "ticketing", "resource": "tickets", "methods": ["update"]}]}
    flat = {
        "request_body_schema": {
            "name": {"type": "string", "required": True},
            "status": {"type": "string", "enum": ["open", "closed"]},
        },
        "query_schema": {"workspace_id": {"type": "string", "required": True}},
        "default_body": {"notify": True},
        "default_query": {"expand": "all"},
    }
    found = abilities_from(capabilities, flat, "flat")
    assert found.body_fields == {"name", "status"}
    assert found.required_body == ("name",) and found.required_query == ("workspace_id",)
    assert found.enums == {"status": ("open", "closed")}
    assert found.default_body == {"notify": True} and found.default_query == {"expand": "all"}
    caplog.set_level(logging.WARNING)
    odd = abilities_from(capabilities, {"request_body_schema": "name,status"}, "odd")
    abilities_from(capabilities, {"request_body_schema": "name,status"}, "odd")
    assert odd.body_fields is None  # nothing refused
    assert [r.levelname for r in caplog.records] == ["WARNING"]  # said once


def test_a_blocked_account_is_read_from_capabilities() -> None:
    answer = {"unified": [], "account": {"id": "ia-1", "status": "active", "is_blocked": True}}
    assert abilities_from(answer, None).blocked is True
    assert Abilities.from_json(abilities_from(answer, None).to_json()).blocked is True


def test_the_token_budget_key_hides_the_token() -> None:
    truto = TrutoClient("https://api.truto.example", SecretStr("secret-token-value"))
    assert "secret-token-value" not in truto._token_key
