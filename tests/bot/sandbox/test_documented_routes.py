"""The sandbox's routes and rules as Truto's reference documents them (not as the bot uses them):
capabilities by the account in the path, integrated accounts, ticket lists, meta list/get,
webhook update/test/delete, the seed's query parameters, rate-limit headers, blocked accounts,
idempotency per key, method and path, and the error envelope for every unknown route."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import httpx
import pytest

from bot.sandbox import SANDBOX_TOKEN, SandboxServer

AUTH = {"Authorization": f"Bearer {SANDBOX_TOKEN}"}
JIRA_Q = {"integrated_account_id": "sandbox-jira"}
TICKET = "/unified/ticketing/tickets/PROJ-42"


@pytest.fixture
def http(sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=sandbox.base_url, headers=AUTH) as client:
        yield client


class _Receiver(BaseHTTPRequestHandler):
    received: ClassVar[list[tuple[dict[str, str], bytes]]] = []
    status = 200

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        type(self).received.append((dict(self.headers), body))
        self.send_response(type(self).status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"received": [], "status": 200})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook", handler
    server.shutdown()
    server.server_close()


def test_the_sandbox_imports_nothing_of_the_bot() -> None:
    # The import contract checks this too; here it is plain to read: a fake that shared the
    # bot's models or signer would agree with the bot's guesses instead of testing them.
    for module in Path("bot/sandbox").glob("*.py"):
        for line in module.read_text().splitlines():
            if line.startswith(("from bot", "import bot")):
                assert line.startswith(("from bot.sandbox", "import bot.sandbox")), (module, line)


def test_capabilities_by_the_account_in_the_path(http: httpx.Client) -> None:
    answer = http.get("/integrated-account/sandbox-linear/capabilities")
    assert answer.status_code == 200
    assert answer.json()["integration"]["label"] == "Linear"
    assert answer.json()["account"]["id"] == "sandbox-linear"


def test_integrated_accounts_get_and_list(http: httpx.Client) -> None:
    one = http.get("/integrated-account/sandbox-jira").json()
    assert (one["id"], one["status"], one["integration"]["config"]["label"]) == (
        "sandbox-jira",
        "active",
        "Jira",
    )
    page = http.get("/integrated-account", params={"limit": 2}).json()
    assert set(page) == {"result", "next_cursor", "limit"} and page["limit"] == 2  # the platform envelope
    rest = http.get("/integrated-account", params={"next_cursor": page["next_cursor"]}).json()
    ids = [a["id"] for a in page["result"] + rest["result"]]
    assert ids == ["sandbox-jira", "sandbox-linear", "sandbox-azure"] and rest["next_cursor"] is None
    missing = http.get("/integrated-account/nope")
    assert missing.status_code == 404 and missing.json()["statusCode"] == 404


def test_ticket_list_pages_with_next_cursor_and_limit(http: httpx.Client) -> None:
    first = http.get("/unified/ticketing/tickets", params={**JIRA_Q, "limit": 25}).json()
    assert first["result_count"] == 25 and first["next_cursor"] and first["is_partial_response"] is False
    seen = [t["id"] for t in first["result"]]
    cursor = first["next_cursor"]
    while cursor:
        page = http.get("/unified/ticketing/tickets", params={**JIRA_Q, "limit": 25, "next_cursor": cursor})
        seen += [t["id"] for t in page.json()["result"]]
        cursor = page.json()["next_cursor"]
    assert seen == [f"PROJ-{n}" for n in range(1, 61)]


def test_meta_list_and_get(http: httpx.Client) -> None:
    for method in ("list", "get", "update"):
        meta = http.get(f"/unified/ticketing/tickets/meta/{method}", params=JIRA_Q).json()
        assert meta["method"] == method and {"query_schema", "default_query", "default_body"} <= set(meta)
    assert http.get("/unified/ticketing/tickets/meta/explode", params=JIRA_Q).status_code == 404


def test_the_seeds_schema_shapes_are_published_and_enforced(http: httpx.Client) -> None:
    schema = http.get("/unified/ticketing/tickets/meta/update", params=JIRA_Q).json()["request_body_schema"]
    props = schema["properties"]
    assert props["items"]["type"] == "object" and props["assignees"]["type"] == "array"
    refused = http.patch(TICKET, params=JIRA_Q, json={"items": [], "tags": {"id": "jl1"}})
    assert refused.status_code == 400
    assert refused.json()["message"] == "items must be an object; tags must be an array"
    assert refused.json()["details"] == {
        "failures": [{"message": "items must be an object"}, {"message": "tags must be an array"}]
    }
    azure = {"integrated_account_id": "sandbox-azure", "collection_id": "ac1", "etag": 'W/"4"'}
    workspace = http.patch("/unified/ticketing/tickets/4204", params=azure, json={"workspace": "aw1"})
    assert workspace.status_code == 200 and workspace.json()["workspace"] == {
        "id": "aw1",
        "name": "Acme Cloud",
    }


def test_response_format_exclude_fields_and_remote_data(http: httpx.Client) -> None:
    unified = http.get(TICKET, params=JIRA_Q).json()
    assert unified["remote_data"] == {
        "key": "PROJ-42",
        "fields": {"summary": "Login fails with SSO", "status": {"name": "To Do"}},
    }
    lean = http.get(TICKET, params={**JIRA_Q, "truto_ignore_remote_data": "true"}).json()
    assert "remote_data" not in lean and lean["name"] == "Login fails with SSO"
    raw = http.get(TICKET, params={**JIRA_Q, "truto_response_format": "raw"}).json()
    assert raw == unified["remote_data"]
    trimmed = http.get(
        TICKET,
        params=[
            *JIRA_Q.items(),
            ("truto_exclude_fields[]", "description"),
            ("truto_exclude_fields[]", "tags"),
        ],
    ).json()
    assert "description" not in trimmed and "tags" not in trimmed and trimmed["id"] == "PROJ-42"
    patched = http.patch(
        TICKET, params={**JIRA_Q, "truto_exclude_fields[]": "remote_data"}, json={"name": "Renamed"}
    ).json()
    assert patched["name"] == "Renamed" and "remote_data" not in patched


def test_429_carries_retry_after_10_and_ratelimit_headers(http: httpx.Client, sandbox: SandboxServer) -> None:
    sandbox.state.rate_limit = (2, 10.0)  # the documented per-account window is 10 s
    for _ in range(2):
        assert http.get(TICKET, params=JIRA_Q).status_code == 200
    limited = http.get(TICKET, params=JIRA_Q)
    assert limited.status_code == 429
    assert limited.headers["retry-after"] == "10"
    assert limited.headers["ratelimit-limit"] == "2" and limited.headers["ratelimit-remaining"] == "0"
    assert 1 <= int(limited.headers["ratelimit-reset"]) <= 10
    assert limited.json() == {
        "statusCode": 429,
        "error": "Too Many Requests",
        "message": "Rate limit exceeded",
    }


def test_a_blocked_account_answers_503_on_data_calls(http: httpx.Client, sandbox: SandboxServer) -> None:
    sandbox.state.profiles["sandbox-jira"].is_blocked = True
    for call in (
        http.get(TICKET, params=JIRA_Q),
        http.patch(TICKET, params=JIRA_Q, json={"name": "x"}),
        http.get("/unified/ticketing/users", params=JIRA_Q),
    ):
        assert call.status_code == 503 and call.json()["error"] == "Service Unavailable"
    assert sandbox.state.patches_applied == 0
    capabilities = http.get("/integrated-account/sandbox-jira/capabilities").json()
    assert capabilities["account"]["is_blocked"] is True  # the account still says why


def test_an_idempotency_key_is_one_operation_on_one_path(http: httpx.Client, sandbox: SandboxServer) -> None:
    key = {"Idempotency-Key": "k-1"}
    first = http.patch(TICKET, params=JIRA_Q, json={"name": "One"}, headers=key)
    again = http.patch(TICKET, params=JIRA_Q, json={"name": "One"}, headers=key)
    other = http.patch("/unified/ticketing/tickets/PROJ-41", params=JIRA_Q, json={"name": "Two"}, headers=key)
    assert first.json() == again.json() and sandbox.state.patches_applied == 2
    assert other.json()["name"] == "Two"


def test_a_ticket_is_found_by_its_id_and_by_a_key_only_where_the_tool_takes_keys(
    http: httpx.Client, sandbox: SandboxServer
) -> None:
    azure = {"integrated_account_id": "sandbox-azure"}
    assert http.get("/unified/ticketing/tickets/4204", params=azure).json()["number"] == "AZ-4"
    assert http.get("/unified/ticketing/tickets/AZ-4", params=azure).json()["id"] == "4204"
    sandbox.state.profiles["sandbox-azure"].takes_keys = False
    assert http.get("/unified/ticketing/tickets/AZ-4", params=azure).status_code == 404


def test_webhooks_update_test_and_delete(http: httpx.Client, receiver: tuple[str, type[_Receiver]]) -> None:
    url, handler = receiver
    created = http.post("/webhook", json={"target_url": url, "event_types": ["record:updated"]}).json()
    listed = http.get("/webhook").json()
    assert set(listed) == {"result", "next_cursor", "limit"} and "secret" not in listed["result"][0]
    updated = http.patch(f"/webhook/{created['id']}", json={"is_active": False})
    assert (
        updated.status_code == 200 and updated.json()["is_active"] is False and "secret" not in updated.json()
    )
    assert http.patch(f"/webhook/{created['id']}", json={"secret": "mine"}).status_code == 400
    assert http.post("/webhook/test", json={"id": created["id"]}).json() == {"success": True}
    [(headers, body)] = handler.received
    delivery = json.loads(body)
    assert (delivery["event"], delivery["payload"], delivery["webhook_id"]) == (
        "test",
        {"foo": "bar"},
        created["id"],
    )
    digest = hmac.new(created["secret"].encode(), body, hashlib.sha256).hexdigest()
    assert headers["X-Truto-Signature"] == f"format=sha256,v={digest}"
    handler.status = 500
    failed = http.post("/webhook/test", json={"id": created["id"]})
    assert failed.status_code == 400 and failed.json()["statusCode"] == 400
    deleted = http.delete(f"/webhook/{created['id']}")
    assert deleted.json() == {"id": created["id"]}
    assert http.get(f"/webhook/{created['id']}").status_code == 404


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nowhere"),
        ("PUT", TICKET),
        ("PUT", "/webhook"),
        ("POST", "/unified/ticketing/tickets/PROJ-1"),
    ],
)
def test_unknown_routes_and_methods_answer_in_the_error_envelope(
    http: httpx.Client, method: str, path: str
) -> None:
    answer = http.request(method, path, params=JIRA_Q)
    assert answer.status_code in (404, 405)
    body = answer.json()
    assert set(body) == {"statusCode", "error", "message"} and body["statusCode"] == answer.status_code
    assert path in body["message"]


def test_create_follows_the_create_meta_and_replays_by_key(
    http: httpx.Client, sandbox: SandboxServer
) -> None:
    """ "Create Tickets": the create meta's required body fields and query parameters (with the
    `missing_required_*` insight), the tool's required custom fields, 201 with the new ticket
    numbered on from the project's highest key, `record:created`; a repeated Idempotency-Key
    answers as the first call did and creates nothing."""
    meta = http.get("/unified/ticketing/tickets/meta/create", params=JIRA_Q).json()
    assert meta["method"] == "create"
    assert meta["request_body_schema"]["required"] == ["name", "collections", "ticket_type"]
    missing = http.post("/unified/ticketing/tickets", params=JIRA_Q, json={"name": "x"})
    assert missing.status_code == 400
    insight = missing.json()["truto_error_insight"]["missing_required_body_fields"]
    assert insight["value"] == ["collections", "ticket_type"]
    body = {"name": "x", "collections": [{"id": "jc2"}], "ticket_type": {"id": "jt1"}}
    no_severity = http.post("/unified/ticketing/tickets", params=JIRA_Q, json=body)
    assert no_severity.status_code == 400 and no_severity.json()["truto_is_remote_error"] is True
    body["custom_fields"] = {"severity": "major"}
    key = {"Idempotency-Key": "create-1"}
    first = http.post("/unified/ticketing/tickets", params=JIRA_Q, json=body, headers=key)
    again = http.post("/unified/ticketing/tickets", params=JIRA_Q, json=body, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json() and first.json()["number"] == "OPS-1"
    assert len(sandbox.state.created) == 1
    azure = {"integrated_account_id": "sandbox-azure"}
    work_item = {"name": "w", "ticket_type": "default_task", "collections": [{"id": "ac1"}]}
    refused = http.post("/unified/ticketing/tickets", params=azure, json=work_item)
    assert refused.status_code == 400
    assert refused.json()["truto_error_insight"]["missing_required_query_parameters"]["value"] == [
        "collection_id"
    ]
    made = http.post("/unified/ticketing/tickets", params={**azure, "collection_id": "ac1"}, json=work_item)
    assert made.status_code == 201 and (made.json()["id"], made.json()["number"]) == ("4221", "AZ-21")
    # Azure DevOps does not delete tickets (Truto's "Delete Tickets" does not list it); Jira does.
    assert http.delete("/unified/ticketing/tickets/4221", params=azure).status_code == 405
    assert http.delete("/unified/ticketing/tickets/OPS-1", params=JIRA_Q).json() == {"id": "OPS-1"}
    assert http.get("/unified/ticketing/tickets/OPS-1", params=JIRA_Q).status_code == 404
