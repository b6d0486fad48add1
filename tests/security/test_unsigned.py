"""A request whose signature was not verified does nothing: 401, no Slack call, no outbound
request, no Redis write, no log line above INFO with its content."""

from __future__ import annotations

import logging
import time

import pytest

from tests.conftest import JIRA_CHANNEL
from tests.scenarios.conftest import Harness
from tests.scenarios.payloads import SIGNING_SECRET, block_actions, form, sign, slash_command
from tests.security.conftest import Attacker, bot_keys, nothing_happened


async def send(harness: Harness, body: bytes | str, content_type: str, headers: dict[str, str]) -> int:
    response = await harness.http.post(
        "/slack/events", content=body, headers={"Content-Type": content_type, **headers}
    )
    await harness.bot.worker.drain()
    return response.status_code


def quiet(caplog: pytest.LogCaptureFixture, *secrets: str) -> None:
    """Nothing above INFO, no traceback, and none of the request's content in any line."""
    for record in caplog.records:
        assert record.levelno <= logging.INFO, record.getMessage()
        assert record.exc_info is None
        for secret in secrets:
            assert secret not in record.getMessage()


async def test_a_non_integer_timestamp_gets_401_and_no_message_to_anyone(
    edge: Harness, attacker: Attacker, clean_redis: str, caplog: pytest.LogCaptureFixture
) -> None:
    """It used to raise inside verification; the error handler then answered the body's
    response_url (an attacker's) and posted with the bot token."""
    caplog.set_level(logging.DEBUG)
    before = bot_keys(clean_redis)
    body = slash_command("PROJ-42 status=done", JIRA_CHANNEL, attacker.url)
    headers = {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=" + "0" * 64}
    assert await send(edge, body, "application/x-www-form-urlencoded", headers) == 401
    nothing_happened(edge, attacker)
    assert bot_keys(clean_redis) == before
    quiet(caplog, attacker.url, "PROJ-42")


MALFORMED = {
    "not UTF-8": (b"payload=\xff\xfe\xfa", "application/x-www-form-urlencoded"),
    "payload is not JSON": ("payload={not json", "application/x-www-form-urlencoded"),
    "a JSON array": ('[{"type": "block_actions"}]', "application/json"),
    "a form sent as JSON": ("token=x&command=%2Fticket&text=PROJ-1", "application/json"),
    "empty": ("", "application/json"),
}


@pytest.mark.parametrize("name", list(MALFORMED))
async def test_malformed_unsigned_bodies_get_401_without_a_traceback(
    edge: Harness, clean_redis: str, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    caplog.set_level(logging.DEBUG)
    body, content_type = MALFORMED[name]
    before = bot_keys(clean_redis)
    junk = {"X-Slack-Request-Timestamp": str(int(time.time())), "X-Slack-Signature": "v0=" + "a" * 64}
    assert await send(edge, body, content_type, junk) == 401
    nothing_happened(edge)
    assert bot_keys(clean_redis) == before
    quiet(caplog)


def _variants() -> dict[str, tuple[str, dict[str, str]]]:
    body = slash_command("PROJ-42 status=done", JIRA_CHANNEL, "http://127.0.0.1:9/commands/T0/1/x")
    return {
        "no signature": (body, {}),
        "signed with another secret": (body, sign(body, secret="not-" + SIGNING_SECRET)),
        "six minutes old": (body, sign(body, timestamp=int(time.time()) - 360)),
        "from the future": (body, sign(body, timestamp=int(time.time()) + 360)),
        "tampered after signing": (body.replace("done", "closed"), sign(body)),
        "signature in upper case": (body, {k: v.upper() for k, v in sign(body).items()}),
        "a timestamp with a sign": (
            body,
            {**sign(body), "X-Slack-Request-Timestamp": "+" + str(int(time.time()))},
        ),
    }


@pytest.mark.parametrize("name", list(_variants()))
async def test_bad_missing_stale_and_tampered_signatures_get_401(
    edge: Harness, clean_redis: str, name: str
) -> None:
    body, headers = _variants()[name]
    before = bot_keys(clean_redis)
    assert await send(edge, body, "application/x-www-form-urlencoded", headers) == 401
    nothing_happened(edge)
    assert bot_keys(clean_redis) == before


async def test_a_signed_request_is_still_served(edge: Harness) -> None:
    """The control: the same path with a good signature works."""
    body = slash_command("PROJ-42 priority=high", JIRA_CHANNEL, edge.slack.response_url())
    assert await send(edge, body, "application/x-www-form-urlencoded", sign(body)) == 200
    assert [c.method for c in edge.sandbox.state.calls("PATCH")] == ["PATCH"]


async def test_a_signed_body_bolt_cannot_read_gets_400(edge: Harness) -> None:
    body = b"payload=\xff\xfe"
    headers = {"X-Slack-Request-Timestamp": str(int(time.time()))}
    import hashlib
    import hmac

    base = b"v0:" + headers["X-Slack-Request-Timestamp"].encode() + b":" + body
    headers["X-Slack-Signature"] = "v0=" + hmac.new(SIGNING_SECRET.encode(), base, hashlib.sha256).hexdigest()
    assert await send(edge, body, "application/x-www-form-urlencoded", headers) == 400
    nothing_happened(edge)


async def test_forged_button_values_touch_nothing(edge: Harness) -> None:
    payload = block_actions(
        {
            "action_id": "ticket_assign_me",
            "block_id": "a",
            "type": "button",
            "value": "eyJhIjoiamlyYSJ9.forged",
        },
        channel=JIRA_CHANNEL,
        response_url=edge.slack.response_url(),
    )
    body = form(payload)
    assert await send(edge, body, "application/x-www-form-urlencoded", sign(body)) == 200
    assert edge.sandbox.state.calls() == []


@pytest.mark.parametrize("ref", ["../../admin", "PROJ-1%2F..%2F..", "PROJ-1/../../x", "%2e%2e"])
async def test_ticket_ids_cannot_walk_the_api_path(edge: Harness, ref: str) -> None:
    body = slash_command(f"update {ref} status=done", JIRA_CHANNEL, edge.slack.response_url())
    response = await edge.http.post(
        "/slack/events",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)},
    )
    await edge.bot.worker.drain()
    assert response.status_code == 200
    assert "ticket" in response.json()["text"].lower()  # the grammar's answer: not a ticket reference
    assert edge.sandbox.state.calls() == []
