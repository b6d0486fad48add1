"""The API client against the sandbox over loopback HTTP: pages, retries, idempotency, errors."""

from __future__ import annotations

import logging

import httpx
import pytest
from pydantic import SecretStr

from bot.domain.models import Ref, TicketUpdate, UpdateQuery
from bot.sandbox import SANDBOX_TOKEN, SandboxServer
from bot.truto.client import RetryPolicy, TrutoClient
from bot.truto.errors import (
    Blocked,
    Forbidden,
    NotAllowed,
    NotFound,
    RateLimited,
    RemoteError,
    TokenInvalid,
    TrutoError,
    Unauthorized,
    Unavailable,
    ValidationFailed,
)
from tests.conftest import JIRA, LINEAR, SleepRecorder
from tests.redis_server import free_port

QUERY = UpdateQuery(integrated_account_id="sandbox-jira")
DONE = TicketUpdate(status=Ref(id="js4", name="Done"))


async def test_get_ticket_sends_bearer_and_account(client: TrutoClient, sandbox: SandboxServer) -> None:
    ticket = await client.get_ticket(JIRA, "PROJ-42")
    assert (ticket.id, ticket.status_name) == ("PROJ-42", "To Do")
    [call] = sandbox.state.calls("GET")
    assert call.query == [("integrated_account_id", "sandbox-jira"), ("truto_ignore_remote_data", "true")]
    assert call.headers["authorization-present"] == "true"


async def test_list_all_follows_every_page(client: TrutoClient, sandbox: SandboxServer) -> None:
    users = [u async for u in client.list_all(JIRA, "users", limit=100)]
    assert len(users) == 320
    assert len({u["id"] for u in users}) == 320
    calls = sandbox.state.calls("GET", "/users")
    assert len(calls) == 4
    assert all(
        ("limit", "100") in c.query and ("integrated_account_id", "sandbox-jira") in c.query for c in calls
    )
    assert [dict(c.query).get("next_cursor") is not None for c in calls] == [False, True, True, True]


async def test_update_sends_body_query_and_idempotency_key(
    client: TrutoClient, sandbox: SandboxServer
) -> None:
    query = UpdateQuery(
        integrated_account_id="sandbox-jira", truto_exclude_fields=["remote_data"], remote_query={"x": "1"}
    )
    ticket = await client.update_ticket("PROJ-42", DONE, query, idempotency_key="key-1")
    assert ticket.status_name == "Done"
    [call] = sandbox.state.calls("PATCH")
    assert call.body == {"status": {"id": "js4", "name": "Done"}}
    assert call.headers["idempotency-key"] == "key-1"
    assert call.query == [
        ("integrated_account_id", "sandbox-jira"),
        ("truto_exclude_fields[]", "remote_data"),
        ("remote_query[x]", "1"),
    ]


async def test_update_generates_an_idempotency_key(client: TrutoClient, sandbox: SandboxServer) -> None:
    await client.update_ticket("PROJ-42", DONE, QUERY)
    [call] = sandbox.state.calls("PATCH")
    assert len(call.headers["idempotency-key"]) >= 32


async def test_429_waits_for_retry_after_then_succeeds(
    client: TrutoClient, sandbox: SandboxServer, sleeps: SleepRecorder
) -> None:
    sandbox.state.fail_next(429, retry_after=2, method="PATCH")
    ticket = await client.update_ticket("PROJ-42", DONE, QUERY, idempotency_key="k-429")
    assert ticket.status_name == "Done"
    assert sleeps.waits == [2.0]
    calls = sandbox.state.calls("PATCH")
    assert [c.status for c in calls] == [429, 200]
    assert {c.headers["idempotency-key"] for c in calls} == {"k-429"}


async def test_429_past_the_deadline_fails_with_the_wait(
    client: TrutoClient, sandbox: SandboxServer, sleeps: SleepRecorder
) -> None:
    sandbox.state.fail_next(429, retry_after=30)
    with pytest.raises(RateLimited) as caught:
        await client.get_ticket(JIRA, "PROJ-42")
    assert caught.value.retry_after == 30.0
    assert "30 s" in caught.value.user_message
    assert sleeps.waits == []  # never slept past the deadline
    assert len(sandbox.state.calls()) == 1


async def test_server_errors_retry_with_the_same_idempotency_key(
    client: TrutoClient, sandbox: SandboxServer, sleeps: SleepRecorder
) -> None:
    sandbox.state.fail_next(502, method="PATCH")
    sandbox.state.fail_next(504, method="PATCH")
    await client.update_ticket("PROJ-42", DONE, QUERY, idempotency_key="k-5xx")
    calls = sandbox.state.calls("PATCH")
    assert [c.status for c in calls] == [502, 504, 200]
    assert [c.headers["idempotency-key"] for c in calls] == ["k-5xx"] * 3
    assert len(sleeps.waits) == 2 and all(0 < w <= 4.0 * 1.5 for w in sleeps.waits)
    assert sandbox.state.patches_applied == 1


async def test_three_tries_at_most(client: TrutoClient, sandbox: SandboxServer) -> None:
    sandbox.state.fail_next(500, times=5)
    with pytest.raises(Unavailable):
        await client.get_ticket(JIRA, "PROJ-42")
    assert len(sandbox.state.calls()) == 3


async def test_no_retry_on_400(client: TrutoClient, sandbox: SandboxServer, sleeps: SleepRecorder) -> None:
    with pytest.raises(ValidationFailed) as caught:
        await client.update_ticket("PROJ-42", TicketUpdate(status=Ref(id="nope")), QUERY)
    assert len(sandbox.state.calls("PATCH")) == 1
    assert sleeps.waits == []
    assert caught.value.user_message == "The ticketing tool refused the change: status: unknown id 'nope'."


@pytest.mark.parametrize(
    ("status", "body", "error", "message_part"),
    [
        (401, {"truto_is_remote_error": True}, Unauthorized, "re-authorised"),
        (401, {}, TokenInvalid, "TRUTO_API_TOKEN"),
        (403, {}, Forbidden, "permission (scope)"),
        (404, {}, NotFound, "does not exist"),
        (405, {}, NotAllowed, "sandbox or read-only"),
        (409, {"message": "Version conflict"}, RemoteError, "Version conflict"),
        (422, {"message": "Transition not allowed"}, RemoteError, "Transition not allowed"),
        (
            400,
            {
                "truto_error_insight": {
                    "missing_required_body_fields": {
                        "description": "Missing",
                        "value": ["ticket_type", "team"],
                    }
                }
            },
            ValidationFailed,
            "needs ticket_type, team",
        ),
        (418, {"truto_is_remote_error": True, "message": "teapot"}, RemoteError, "teapot"),
        (503, {}, Blocked, "blocked this connected account"),
        (500, {}, Unavailable, "unavailable"),
    ],
)
async def test_each_error_is_mapped(
    client: TrutoClient,
    sandbox: SandboxServer,
    status: int,
    body: dict[str, object],
    error: type[TrutoError],
    message_part: str,
) -> None:
    sandbox.state.fail_next(status, times=3, body=body)
    with pytest.raises(error) as caught:
        await client.update_ticket("PROJ-42", DONE, QUERY)
    assert type(caught.value) is error
    assert caught.value.status == status
    assert message_part in caught.value.user_message


async def test_unknown_ticket_is_not_found(client: TrutoClient) -> None:
    with pytest.raises(NotFound):
        await client.get_ticket(JIRA, "PROJ-9999")


async def test_connection_errors_retry_then_fail(sleeps: SleepRecorder) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    async with TrutoClient(closed, SecretStr(SANDBOX_TOKEN), sleep=sleeps) as truto:
        with pytest.raises(Unavailable, match="ConnectError after 3 tries"):
            await truto.get_ticket(JIRA, "PROJ-42")
    assert len(sleeps.waits) == 2


async def test_a_slow_answer_times_out(sandbox: SandboxServer, sleeps: SleepRecorder) -> None:
    sandbox.state.fail_next(delay=1.0, times=3)
    async with TrutoClient(sandbox.base_url, SecretStr(SANDBOX_TOKEN), sleep=sleeps, timeout=0.2) as truto:
        with pytest.raises(Unavailable):
            await truto.get_ticket(JIRA, "PROJ-42")


async def test_meta_and_capabilities(client: TrutoClient, sandbox: SandboxServer) -> None:
    meta = await client.meta(LINEAR, "tickets", "update")
    assert "ticket_type" not in meta["request_body_schema"]["properties"]
    capabilities = await client.capabilities(LINEAR)
    assert next(u for u in capabilities["unified"] if u["resource"] == "tickets")["methods"][-2:] == [
        "update",
        "delete",
    ]
    call = sandbox.state.calls("GET", "/capabilities")[0]
    assert call.path == "/integrated-account/sandbox-linear/capabilities"
    assert ("type", "unified") in call.query


async def test_the_token_never_reaches_logs_or_errors(
    sandbox: SandboxServer, sleeps: SleepRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    secret = "tk-VERY-S3CRET-value"
    sandbox.state.token = secret
    caplog.set_level(logging.DEBUG)
    truto = TrutoClient(sandbox.base_url, SecretStr(secret), sleep=sleeps, retry=RetryPolicy(max_tries=2))
    texts = [repr(truto)]
    sandbox.state.fail_next(500, times=2)
    sandbox.state.fail_next(401)
    sandbox.state.fail_next(429, retry_after=99)
    for _ in range(3):
        with pytest.raises(TrutoError) as caught:
            await truto.get_ticket(JIRA, "PROJ-42")
        texts += [str(caught.value), repr(caught.value), caught.value.user_message, caught.value.detail]
    await truto.aclose()
    texts += [record.getMessage() for record in caplog.records]
    assert caplog.records, "the client logged nothing: the check would prove nothing"
    assert not [t for t in texts if secret in t]


async def test_client_works_over_an_httpx_transport() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "PROJ-1", "name": "x"})

    async with TrutoClient(
        "https://api.truto.example", SecretStr("t"), transport=httpx.MockTransport(answer)
    ) as truto:
        await truto.get_ticket(JIRA, "PROJ-1")
    assert seen[0].headers["authorization"] == "Bearer t"
    assert (
        str(seen[0].url)
        == "https://api.truto.example/unified/ticketing/tickets/PROJ-1?integrated_account_id=sandbox-jira"
        "&truto_ignore_remote_data=true"
    )


@pytest.mark.parametrize(
    ("status", "remote", "tries"),
    [
        (500, False, 3),  # Truto failed to process it: retry with backoff
        (501, False, 3),  # any other 5xx of Truto's own too
        (502, False, 3),
        (504, False, 3),
        (500, True, 3),  # the provider failing: a flaky upstream, backoff and capped tries
        (503, False, 1),  # Truto's own 503: the account is blocked; never
        (503, True, 3),  # a provider's 503 is its own outage, not a blocked account
        (408, False, 3),  # not in the reference's table: "nothing was done, send it again"
        (425, False, 3),
        (400, False, 1),
        (409, True, 1),
        (422, True, 1),
    ],
)
async def test_retries_follow_the_references_rule(
    client: TrutoClient, sandbox: SandboxServer, status: int, remote: bool, tries: int
) -> None:
    body = {"truto_is_remote_error": True} if remote else {}
    sandbox.state.fail_next(status, times=5, method="PATCH", body=body)
    with pytest.raises(TrutoError):
        await client.update_ticket("PROJ-42", DONE, QUERY, idempotency_key=f"k-{status}-{remote}")
    assert [c.status for c in sandbox.state.calls("PATCH")] == [status] * tries
