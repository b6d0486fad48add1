"""Distributed mode's harness: the real app in distributed mode (SQLite in a temporary folder),
behind the real routes, with the fake Slack and the sandbox; workspaces installed through
/slack/install and connected through the sandbox's connect page."""

from __future__ import annotations

import asyncio
import re
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest

from bot.ops.config import Settings, build_config
from bot.sandbox import SANDBOX_TOKEN, SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from bot.store.sql.cipher import new_key
from handlers.app import build_bot
from tests.scenarios import payloads
from tests.scenarios.conftest import Harness

ACME, GLOBEX = "T0ACME", "T0GLOBEX"
ADMIN = "U0ADMIN"


def distributed_settings(
    sandbox: SandboxServer, slack: FakeSlack, redis_url: str | None, data: Path, **overrides: Any
) -> Settings:
    values: dict[str, Any] = dict(
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
        subscription_post_seconds=0,
    )
    return Settings(**(values | overrides))


def register_webhook(sandbox: SandboxServer) -> None:
    """A webhook for every event, as `ticketbot webhooks register` makes one: the sandbox's
    account events are read from its deliveries (signed with the test secret)."""
    sandbox.state.webhooks.registered["wh"] = {
        "id": "wh",
        "target_url": "http://127.0.0.1:9/unreachable",
        "is_active": True,
        "event_types": [],
        "secret": payloads.WEBHOOK_SECRET,
    }


@asynccontextmanager
async def running_fleet(
    settings: Settings, sandbox: SandboxServer, fake_slack: FakeSlack
) -> AsyncIterator[Harness]:
    bot = build_bot(build_config(settings))
    await bot.prepare()
    transport = httpx.ASGITransport(app=bot.http_app(redis_ok=bot.core.redis_ok))
    register_webhook(sandbox)
    fake_slack.state.admins.add(ADMIN)
    fake_slack.state.emails[ADMIN] = "admin@acme.example"
    async with httpx.AsyncClient(transport=transport, base_url="http://ticketbot.test") as http:
        yield Harness(http, fake_slack, sandbox, bot.core, bot)
    assert bot.distributed is not None
    await bot.distributed.database.aclose()
    await bot.core.aclose()


@pytest.fixture
async def fleet(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str, tmp_path: Path
) -> AsyncIterator[Harness]:
    settings = distributed_settings(sandbox, fake_slack, clean_redis, tmp_path)
    async with running_fleet(settings, sandbox, fake_slack) as harness:
        yield harness


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
    assert button["text"]["text"] in ("Connect your tracker", "Connect another tool")
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
