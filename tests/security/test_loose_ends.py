"""The second attack round's loose ends, each closed: a lock on description also locks its HTML
twin; a read-only channel is read-only for every tool's tickets; webhook event markers live
minutes, not a day; /metrics can want a token; the webhook route's 404 names no setting;
a user group's membership is re-read within a minute; "Assign to me" is refused before any
look-up of the clicker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
import redis

from bot.domain.accounts import Permissions, UpdateRule
from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from tests.conftest import JIRA, JIRA_CHANNEL
from tests.scenarios.conftest import Harness, harness_config, last
from tests.scenarios.payloads import BRUNO, block_actions, record_event, sign_truto
from tests.security.conftest import served

READ_ONLY = "C0READONLY"


@pytest.fixture
async def locked(sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str) -> AsyncIterator[Harness]:
    permissions = Permissions(
        update=UpdateRule(users=("U0ANA",)),
        read_only_channels=(READ_ONLY,),
        locked_fields=("description", "created_at"),
    )
    config = harness_config(
        sandbox, fake_slack, clean_redis, jira=JIRA.model_copy(update={"permissions": permissions})
    )
    config = config.model_copy(update={"channels": {**config.channels, READ_ONLY: "jira"}})
    async with served(config, sandbox, fake_slack) as harness:
        yield harness


def refusal(harness: Harness) -> str:
    return str((harness.calls("response") + harness.calls("chat.postEphemeral"))[-1].args["text"])


async def test_a_lock_on_description_locks_html_description_too(locked: Harness) -> None:
    response = await locked.command('PROJ-42 html_description="<p>rewritten</p>"')
    said = response.json()["text"] if response.content else refusal(locked)
    assert "locked" in said and locked.sandbox.state.calls("PATCH") == []


async def test_a_channel_read_only_for_one_tool_is_read_only_for_another_tools_links(locked: Harness) -> None:
    await locked.command("https://linear.app/acme/issue/ENG-2 priority=high", channel=READ_ONLY)
    assert "This channel is read-only" in refusal(locked)
    assert locked.sandbox.state.calls("PATCH") == []


async def test_a_webhook_event_marker_lives_minutes_not_a_day(edge: Harness, clean_redis: str) -> None:
    await edge.command("PROJ-42 priority=high")  # a card that follows the ticket
    body = record_event("updated", "PROJ-42")
    assert (
        await edge.http.post("/truto/webhooks", content=body, headers=sign_truto(body))
    ).status_code == 200
    client = redis.Redis.from_url(clean_redis)
    [marker] = [k for k in client.scan_iter("ticketbot:*truto-event*")]
    assert 0 < client.ttl(marker) <= 15 * 60
    client.close()


async def test_metrics_want_the_token_when_one_is_set(edge: Harness) -> None:
    app = edge.bot.http_app(metrics_token="m3tr1cs-t0ken")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        assert (await http.get("/metrics")).status_code == 401
        assert (await http.get("/metrics", headers={"Authorization": "Bearer nope"})).status_code == 401
        answer = await http.get("/metrics", headers={"Authorization": "Bearer m3tr1cs-t0ken"})
        assert answer.status_code == 200 and "ticketbot_" in answer.text


async def test_the_webhook_route_without_a_secret_names_no_setting(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> None:
    config = harness_config(sandbox, fake_slack, clean_redis, truto_webhook_secret=None)
    async with served(config, sandbox, fake_slack) as harness:
        response = await harness.http.post("/truto/webhooks", content=b"{}")
        assert response.status_code == 404 and "TRUTO" not in response.text and "SECRET" not in response.text


async def test_usergroup_members_are_cached_a_minute_at_most(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> None:
    permissions = Permissions(update=UpdateRule(usergroups=("S0LEADS",)))
    config = harness_config(
        sandbox, fake_slack, clean_redis, jira=JIRA.model_copy(update={"permissions": permissions})
    )
    fake_slack.state.usergroups = {"S0LEADS": ["U0ANA"]}
    async with served(config, sandbox, fake_slack) as harness:
        await harness.command("PROJ-42 priority=high")
        assert len(harness.sandbox.state.calls("PATCH")) == 1
        client = redis.Redis.from_url(clean_redis)
        cached = [k for k in client.scan_iter("ticketbot:*S0LEADS*")]
        assert cached and all(0 < client.pttl(k) <= 60_000 for k in cached)
        client.close()


async def test_assign_to_me_is_refused_before_any_look_up_of_the_clicker(locked: Harness) -> None:
    await locked.command("show PROJ-42", channel=JIRA_CHANNEL)
    card = last(locked.calls("response"))["blocks"]
    button = next(
        e
        for b in card
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "ticket_assign_me"
    )
    locked.reset_counts()
    await locked.interact(
        block_actions(
            {"action_id": "ticket_assign_me", "block_id": "a", "type": "button", "value": button["value"]},
            channel=JIRA_CHANNEL,
            response_url=locked.slack.response_url(),
            user=BRUNO,
        )
    )
    assert "You may not change Jira tickets" in refusal(locked)
    assert locked.calls("users.info") == []  # nobody looked up who Bruno is in Slack…
    assert locked.sandbox.state.calls() == []  # …or in the tool


async def test_deeply_nested_signed_json_is_refused_before_any_parser_recurses(
    edge: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    import json
    import logging
    from urllib.parse import urlencode

    from tests.scenarios.payloads import sign
    from tests.security.test_unsigned import quiet

    caplog.set_level(logging.DEBUG)
    deep = "[" * 100_000 + "]" * 100_000
    form = urlencode({"payload": deep})
    headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(form)}
    assert (await edge.http.post("/slack/events", content=form, headers=headers)).status_code == 400
    event = json.dumps({"type": "event_callback"})[:-1] + ', "x": ' + deep + "}"
    headers = {"Content-Type": "application/json", **sign(event)}
    assert (await edge.http.post("/slack/events", content=event, headers=headers)).status_code == 400
    body = ('{"event": "record:updated", "payload": ' + deep + "}").encode()
    webhook = await edge.http.post("/truto/webhooks", content=body, headers=sign_truto(body))
    assert (webhook.status_code, webhook.text) == (200, "ignored: too deeply nested")  # signed: a 2xx
    assert edge.slack.state.calls == [] and edge.sandbox.state.calls() == []
    quiet(caplog)
