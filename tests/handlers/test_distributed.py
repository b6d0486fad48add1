"""Distributed mode end to end, over the real routes: two workspaces installed through
/slack/install and /slack/oauth_redirect (code exchanged at the fake Slack), each connecting its
own sandbox account through a link token and the signed `integrated_account:*` events, each
updating its own tickets; one uninstalls (its data gone), the other is unaffected."""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from sqlalchemy import text

from bot.ops.config import ConfigError, Settings, build_config
from bot.sandbox import SANDBOX_TOKEN, SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from bot.store.sql.cipher import new_key
from handlers.app import NOT_INSTALLED, build_bot
from tests.handlers import payloads
from tests.handlers.conftest import Harness

ACME, GLOBEX = "T0ACME", "T0GLOBEX"
ADMIN = "U0ADMIN"


def distributed_settings(sandbox: SandboxServer, slack: FakeSlack, redis_url: str, data: Path) -> Settings:
    return Settings(
        slack_client_id="1234.5678",
        slack_client_secret="client-secret-for-tests",
        ticketbot_encryption_key=new_key(),
        ticketbot_data_dir=data,
        slack_signing_secret=payloads.SIGNING_SECRET,
        slack_api_url=slack.api_url,
        truto_base_url=sandbox.base_url,
        truto_api_token=SANDBOX_TOKEN,
        truto_connect_url=f"{sandbox.base_url}/connect-account",
        redis_url=redis_url,
        truto_webhook_secret=payloads.WEBHOOK_SECRET,
        webhook_coalesce_seconds=0.05,
        channel_card="full",
    )


@pytest.fixture
async def fleet(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str, tmp_path: Path
) -> AsyncIterator[Harness]:
    config = build_config(distributed_settings(sandbox, fake_slack, clean_redis, tmp_path))
    bot = build_bot(config)
    await bot.prepare()
    transport = httpx.ASGITransport(app=bot.http_app(redis_ok=bot.core.redis_ok))
    # The sandbox's account events are read from its deliveries (signed with this secret).
    sandbox.state.webhooks.registered["wh"] = {
        "id": "wh",
        "target_url": "http://127.0.0.1:9/unreachable",
        "is_active": True,
        "event_types": [],
        "secret": payloads.WEBHOOK_SECRET,
    }
    fake_slack.state.admins.add(ADMIN)
    fake_slack.state.emails[ADMIN] = "admin@acme.example"
    async with httpx.AsyncClient(transport=transport, base_url="http://ticketbot.test") as http:
        yield Harness(http, fake_slack, sandbox, bot.core, bot)
    assert bot.distributed is not None
    await bot.distributed.database.aclose()
    await bot.core.aclose()


async def install(fleet: Harness, code: str) -> httpx.Response:
    page = await fleet.http.get("/slack/install")
    assert page.status_code == 200
    authorize = re.search(r'href="(https://slack.com/oauth/v2/authorize\?[^"]+)"', page.text)
    assert authorize is not None, page.text
    query = parse_qs(urlsplit(authorize.group(1).replace("&amp;", "&")).query)
    assert query["client_id"] == ["1234.5678"] and "commands" in query["scope"][0]
    return await fleet.http.get(
        f"/slack/oauth_redirect?code={code}&state={query['state'][0]}",
        headers={"Cookie": "; ".join(f"{k}={v}" for k, v in page.cookies.items())},
    )


def slash(team: str, text_: str, response_url: str, channel: str = "C0GENERAL") -> str:
    return urlencode(
        {
            "token": "x",
            "team_id": team,
            "team_domain": team.lower(),
            "channel_id": channel,
            "channel_name": "general",
            "user_id": ADMIN,
            "user_name": "admin",
            "command": "/ticket",
            "text": text_,
            "api_app_id": "A0TICKETBOT",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": payloads.trigger_id(),
        }
    )


def event(team: str, inner: dict[str, Any]) -> dict[str, Any]:
    return {
        "token": "x",
        "team_id": team,
        "api_app_id": "A0TICKETBOT",
        "event": {**inner, "event_ts": f"{time.time():.6f}"},
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": team, "user_id": "U0BOT", "is_bot": True}],
    }


async def forward_account_events(fleet: Harness) -> list[str]:
    """What the sandbox sent since last time, delivered to the bot's webhook route."""
    for _ in range(100):
        if not fleet.sandbox.state.webhooks.in_flight:
            break
        await asyncio.sleep(0.02)
    verdicts = []
    deliveries = list(fleet.sandbox.state.webhooks.deliveries)
    fleet.sandbox.state.webhooks.deliveries.clear()
    for delivery in deliveries:
        response = await fleet.truto_event(delivery.body)
        verdicts.append(f"{delivery.event}={response.text}")
    return verdicts


async def connect(fleet: Harness, team: str, profile: str) -> str:
    """The admin opens Home, follows Connect, picks `profile`: the new account's id."""
    fleet.slack.state.calls.clear()
    await fleet.event(event(team, {"type": "app_home_opened", "user": ADMIN, "tab": "home"}))
    [published] = fleet.calls("views.publish")
    buttons = [e for b in published.args["view"]["blocks"] if b["type"] == "actions" for e in b["elements"]]
    [button] = [b for b in buttons if b["action_id"] == "connect_tracker"]
    assert button["text"]["text"] == "Connect your tracker"
    assert published.authorization.startswith(f"Bearer xoxb-{team}-")  # the workspace's own token
    link_token = parse_qs(urlsplit(button["url"]).query)["link_token"][0]
    assert fleet.sandbox.state.link_tokens[link_token] == {"tenant_id": team, "integrated_account_id": None}
    before = set(fleet.sandbox.state.profiles)
    async with httpx.AsyncClient(base_url=fleet.sandbox.base_url) as browser:
        page = await browser.post("/connect-account", data={"link_token": link_token, "profile": profile})
    assert page.status_code == 200, page.text
    [account] = set(fleet.sandbox.state.profiles) - before
    assert await forward_account_events(fleet) == [
        "integrated_account:created=ignored",
        "integrated_account:active=connected",
    ]
    return account


async def test_two_workspaces_install_connect_update_and_one_uninstalls(fleet: Harness) -> None:
    for team in (ACME, GLOBEX):
        answered = await install(fleet, team)
        assert answered.status_code in (200, 302), answered.text
    assert [c.args["code"] for c in fleet.calls("oauth.v2.access")] == [ACME, GLOBEX]

    acme_jira = await connect(fleet, ACME, "jira")
    [dm] = [c for c in fleet.calls("chat.postMessage") if c.args["channel"] == ADMIN]
    assert dm.args["text"].startswith("Jira is connected.")
    globex_linear = await connect(fleet, GLOBEX, "linear")

    # Each workspace updates its own tool's tickets.
    fleet.sandbox.state.requests.clear()
    await fleet.post(
        slash(ACME, "update PROJ-42 priority=high", fleet.slack.response_url()),
        "application/x-www-form-urlencoded",
    )
    await fleet.post(
        slash(GLOBEX, "update ENG-7 priority=urgent", fleet.slack.response_url()),
        "application/x-www-form-urlencoded",
    )
    patches = fleet.sandbox.state.calls("PATCH")
    assert [(p.path, dict(p.query)["integrated_account_id"]) for p in patches] == [
        ("/unified/ticketing/tickets/PROJ-42", acme_jira),
        ("/unified/ticketing/tickets/ENG-7", globex_linear),
    ]

    # ACME uninstalls: its installation, accounts and cached keys go; GLOBEX goes on.
    assert fleet.bot.distributed is not None
    database = fleet.bot.distributed.database
    await fleet.event(event(ACME, {"type": "app_uninstalled"}))
    async with database.engine.connect() as conn:
        teams = (await conn.execute(text("SELECT team_id FROM slack_bots ORDER BY team_id"))).scalars().all()
        accounts = (
            (await conn.execute(text("SELECT integrated_account_id FROM team_accounts"))).scalars().all()
        )
    assert teams == [GLOBEX] and accounts == [globex_linear]
    assert fleet.core.redis is not None
    left = [k async for k in fleet.core.redis.scan_iter(match=f"*{acme_jira}*")]
    # Only the API budget's window, shared by every deployment on purpose, which ends by itself.
    assert left and all(k.startswith(b"ticketbot:shared:ratelimit:") for k in left)
    assert await fleet.core.redis.ttl(left[0]) <= 20

    fleet.sandbox.state.requests.clear()
    fleet.slack.state.calls.clear()
    await fleet.post(
        slash(ACME, "update PROJ-42 priority=low", fleet.slack.response_url()),
        "application/x-www-form-urlencoded",
    )
    assert fleet.sandbox.state.calls("PATCH") == []  # nothing for a workspace that left
    [answer] = fleet.slack.state.calls  # Slack would not even send it; if it did, it is told why
    assert answer.method == "response" and answer.args["text"] == NOT_INSTALLED
    await fleet.post(
        slash(GLOBEX, "update ENG-7 priority=low", fleet.slack.response_url()),
        "application/x-www-form-urlencoded",
    )
    assert [p.path for p in fleet.sandbox.state.calls("PATCH")] == ["/unified/ticketing/tickets/ENG-7"]


async def test_an_account_event_for_a_tenant_not_installed_does_nothing(fleet: Harness) -> None:
    await install(fleet, ACME)
    body = json.dumps(
        {
            "id": "evt_1",
            "event": "integrated_account:active",
            "created_at": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
            "payload": {"id": "ia-stranger", "tenant_id": "T0STRANGER", "integration": {"name": "jira"}},
        }
    ).encode()
    fleet.slack.state.calls.clear()
    response = await fleet.truto_event(body)
    assert response.text == "ignored: not installed"
    assert fleet.slack.state.calls == []
    assert fleet.bot.distributed is not None
    assert await fleet.bot.distributed.workspaces.accounts.by_account("ia-stranger") is None


def test_a_bot_token_and_a_client_id_together_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        build_config(
            Settings(
                slack_bot_token="xoxb-1-2-3",
                slack_client_id="1234.5678",
                slack_client_secret="s",
                ticketbot_encryption_key=new_key(),
            )
        )
    assert "SLACK_BOT_TOKEN and SLACK_CLIENT_ID are both set" in str(caught.value)
    with pytest.raises(ConfigError, match="TICKETBOT_ENCRYPTION_KEY: not set"):
        build_config(Settings(slack_client_id="1234.5678", slack_client_secret="s"))
