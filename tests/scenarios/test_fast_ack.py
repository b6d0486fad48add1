"""The fast ack (handlers/fast_ack.py): a signed `/ticket update` is written as its job and
answered without Bolt, its replay marker and the user's quota checked in the job's own write;
everything else still goes through Bolt."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from bot.store import keys
from handlers.kit import texts
from tests.conftest import JIRA_CHANNEL
from tests.scenarios import payloads
from tests.scenarios.conftest import Harness, harness_config, last, running
from tests.scenarios.payloads import block_suggestion
from tests.scenarios.test_commands import texts as block_texts
from tests.scenarios.test_views import open_form

FORM = "application/x-www-form-urlencoded"


@contextmanager
def bolt_dispatches(harness: Harness) -> Iterator[list[str]]:
    """Each request Bolt dispatches, by its body's first characters."""
    seen: list[str] = []
    app = harness.bot.app
    dispatch = app.async_dispatch

    async def counting(request):  # type: ignore[no-untyped-def]
        seen.append(request.raw_body[:40])
        return await dispatch(request)

    app.async_dispatch = counting  # type: ignore[method-assign]
    try:
        yield seen
    finally:
        app.async_dispatch = dispatch  # type: ignore[method-assign]


async def test_an_update_is_queued_and_applied_without_bolt(harness: Harness) -> None:
    with bolt_dispatches(harness) as dispatched:
        response = await harness.command("update PROJ-42 priority=high")
    assert response.status_code == 200 and response.content == b""
    assert dispatched == []
    [patch] = harness.sandbox.state.calls("PATCH")
    assert patch.body == {"priority": {"id": "jp2", "name": "High"}}
    posted = last(harness.calls("chat.postMessage"))
    assert posted["channel"] == JIRA_CHANNEL
    assert "priority Medium → High" in block_texts(posted["blocks"])


@pytest.mark.parametrize(
    "text",
    ["show PROJ-42", "help", "update PROJ-42 frobnicate=1", "update PROJ-42 priority=high --preview"],
)
async def test_everything_but_a_plain_update_goes_to_bolt(harness: Harness, text: str) -> None:
    with bolt_dispatches(harness) as dispatched:
        response = await harness.command(text)
    assert response.status_code == 200
    assert len(dispatched) == 1
    assert harness.sandbox.state.calls("PATCH") == []


async def test_a_replayed_update_is_answered_nothing_and_applied_once(harness: Harness) -> None:
    body = payloads.slash_command("update PROJ-42 priority=high", JIRA_CHANNEL, harness.slack.response_url())
    headers = payloads.sign(body)
    first = await harness.post(body, FORM, headers)
    again = await harness.post(body, FORM, headers)
    assert (first.status_code, again.status_code) == (200, 200)
    assert again.content == b""
    assert len(harness.sandbox.state.calls("PATCH")) == 1
    assert len(harness.calls("chat.postMessage")) == 1
    stream = keys.jobs_stream()
    assert harness.core.redis is not None
    assert await harness.core.redis.xlen(stream) <= 1  # one job written (acknowledged ones are deleted)


async def test_a_replay_through_bolt_finds_the_fast_acks_marker(harness: Harness) -> None:
    """Both paths keep the one marker: a request the fast ack took is a replay to the edge too."""
    body = payloads.slash_command("update PROJ-42 priority=high", JIRA_CHANNEL, harness.slack.response_url())
    headers = payloads.sign(body)
    await harness.post(body, FORM, headers)
    as_received = {name.lower(): value for name, value in headers.items()}
    assert await harness.bot.edge.replay.first_time(as_received) is False  # type: ignore[union-attr]


async def test_the_quota_is_counted_in_the_jobs_write(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> None:
    config = harness_config(sandbox, fake_slack, clean_redis, user_quota_per_minute=2)
    async with running(config, sandbox, fake_slack) as harness:
        for ticket in ("PROJ-41", "PROJ-42"):
            assert (await harness.command(f"update {ticket} priority=high")).content == b""
        refused = await harness.command("update PROJ-43 priority=high")
        assert refused.json()["text"] == texts.too_many_requests(2)
        patched = [c.path.rsplit("/", 1)[-1] for c in harness.sandbox.state.calls("PATCH")]
        assert patched == ["PROJ-41", "PROJ-42"]


async def test_without_redis_the_replay_is_still_caught_in_this_process(
    sandbox: SandboxServer, fake_slack: FakeSlack
) -> None:
    async with running(harness_config(sandbox, fake_slack, None), sandbox, fake_slack) as harness:
        body = payloads.slash_command(
            "update PROJ-42 priority=high", JIRA_CHANNEL, harness.slack.response_url()
        )
        headers = payloads.sign(body)
        await harness.post(body, FORM, headers)
        await harness.post(body, FORM, headers)
        assert len(harness.sandbox.state.calls("PATCH")) == 1


async def test_a_live_select_keystroke_is_answered_without_bolt(harness: Harness) -> None:
    view = await open_form(harness)
    with bolt_dispatches(harness) as dispatched:
        body = payloads.form(block_suggestion(view, "field_tags", "end"))
        headers = payloads.sign(body)
        answered = await harness.post(body, FORM, headers)
        replayed = await harness.post(body, FORM, headers)
    assert dispatched == []
    assert [o["value"] for o in answered.json()["options"]] == ["jl1", "jl2"]
    assert (replayed.status_code, replayed.content) == (200, b"")  # a replay is answered nothing


async def test_an_unexpected_error_before_the_write_is_left_to_bolts_error_policy(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(harness.bot.deps.service, "parse", broken)
    with bolt_dispatches(harness) as dispatched:
        response = await harness.command("update PROJ-42 priority=high")
    assert len(dispatched) == 1  # Bolt's error handler: the user is told, with an error id
    assert last(harness.calls("response"))["text"].startswith(texts.SOMETHING_WENT_WRONG[:20])
    assert response.status_code == 500 and harness.sandbox.state.calls("PATCH") == []


# Whatever path a command takes, its user sees the same: the fast ack's answers, bodies sent
# and messages posted, against Bolt's for the same text from the same starting state.
SAME_AS_BOLT = [
    "update PROJ-42 priority=high",
    'PROJ-42 status="In Progress" tags+=backend',
    "update PROJ-42 assignee=me",
    "update PROJ-9999 priority=high",
    "update PROJ-42 frobnicate=1",
    "update PROJ-42 priority=high --preview",
    "update PROJ-41,PROJ-43 priority=low",
    "show PROJ-42",
]


async def _outcome(harness: Harness, text: str) -> dict[str, object]:
    response = await harness.command(text)
    return {
        "status": response.status_code,
        "ack": response.text,
        # a bulk update's tickets go out concurrently: compared in any order
        "patches": sorted(str((c.path, c.body)) for c in harness.sandbox.state.calls("PATCH")),
        "said": sorted(
            str((c.method, c.args.get("text"))) for c in harness.slack.state.calls if c.method != "auth.test"
        ),
    }


@pytest.mark.parametrize("text", SAME_AS_BOLT)
async def test_a_command_is_answered_the_same_with_or_without_the_fast_ack(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str, text: str
) -> None:
    import httpx

    from bot.slack.http_server import create_http_app
    from tests.conftest import _clear_bot_keys

    async with running(harness_config(sandbox, fake_slack, clean_redis), sandbox, fake_slack) as harness:
        fast = await _outcome(harness, text)
        sandbox.state.reset()
        fake_slack.state.reset()
        _clear_bot_keys(clean_redis)
        bot = harness.bot
        bot.deps.jobs._group_ready = False  # the stream and its group went with the keys
        bolt_only = create_http_app(bot.app, bot.edge, truto_webhooks=bot.webhooks.receive)
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=bolt_only), base_url="http://ticketbot.test"
        ) as http:
            harness.http = http
            through_bolt = await _outcome(harness, text)
    assert fast == through_bolt
