"""The app under test: the real Bolt app behind the real HTTP routes, over an ASGI transport,
with the fake Slack Web API and the sandbox on loopback, and a real Redis."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from bot.domain.accounts import Account
from bot.ops.config import AppConfig, Settings
from bot.runtime import Core
from bot.sandbox import SANDBOX_TOKEN, SandboxServer
from bot.sandbox.fake_slack import Call, FakeSlack
from handlers.app import SlackBot, build_bot
from tests.blocks.limits import check_blocks, check_view
from tests.conftest import JIRA, JIRA_CHANNEL, LINEAR, LINEAR_CHANNEL
from tests.scenarios import payloads


@dataclass
class Harness:
    http: httpx.AsyncClient
    slack: FakeSlack
    sandbox: SandboxServer
    core: Core
    bot: SlackBot
    run_jobs: bool = True  # run queued jobs after each request, as a worker would

    async def post(
        self, body: str, content_type: str, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        signed = payloads.sign(body) if headers is None else headers
        baseline = asyncio.all_tasks()
        seen = len(self.slack.state.calls)
        response = await self.http.post(
            "/slack/events", content=body, headers={"Content-Type": content_type, **signed}
        )
        await self.settle(baseline)
        if self.run_jobs:
            await self.bot.worker.drain()
        self.check_block_kit(response, self.slack.state.calls[seen:])
        return response

    @staticmethod
    def check_block_kit(response: httpx.Response, calls: list[Call]) -> None:
        """Every message, modal and unfurl the app produced parses and stays within limits."""
        answers: list[dict[str, Any]] = [c.args for c in calls]
        if response.headers.get("content-type", "").startswith("application/json"):
            answers.append(response.json())
        for args in answers:
            if isinstance(args.get("blocks"), list):
                check_blocks(args["blocks"])
            if isinstance(args.get("view"), dict):
                check_view(args["view"])
            for unfurl in (args.get("unfurls") or {}).values():
                check_blocks(unfurl["blocks"])

    async def settle(self, baseline: set[asyncio.Task[Any]]) -> None:
        """Wait for the lazy listeners (and anything they started) to finish."""
        for _ in range(100):
            pending = [
                t for t in asyncio.all_tasks() - baseline if t is not asyncio.current_task() and not t.done()
            ]
            if not pending:
                return
            await asyncio.wait(pending, timeout=10)
        raise AssertionError("lazy listeners did not settle")

    async def command(
        self, text: str, channel: str = JIRA_CHANNEL, user: dict[str, str] = payloads.ANA
    ) -> httpx.Response:
        body = payloads.slash_command(text, channel, self.slack.response_url(), user)
        return await self.post(body, "application/x-www-form-urlencoded")

    async def interact(self, payload: dict[str, Any]) -> httpx.Response:
        return await self.post(payloads.form(payload), "application/x-www-form-urlencoded")

    async def event(self, envelope: dict[str, Any], retry_num: int | None = None) -> httpx.Response:
        body = json.dumps(envelope)
        headers = payloads.sign(body)
        if retry_num is not None:
            headers |= {"X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": "http_timeout"}
        return await self.post(body, "application/json", headers)

    async def truto_event(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        """A unified API webhook delivery (signed with the test secret unless `headers` say
        otherwise), then the jobs it queued run."""
        baseline = asyncio.all_tasks()
        response = await self.http.post(
            "/truto/webhooks", content=body, headers=payloads.sign_truto(body) if headers is None else headers
        )
        await self.settle(baseline)
        if self.run_jobs:
            await self.bot.worker.drain()
        return response

    def calls(self, method: str) -> list[Call]:
        return self.slack.state.named(method)

    def api_calls(self) -> list[tuple[str, str]]:
        return [(c.method, c.path) for c in self.sandbox.state.calls()]

    def reset_counts(self) -> None:
        self.slack.state.calls.clear()
        self.sandbox.state.requests.clear()


def harness_config(
    sandbox: SandboxServer,
    slack: FakeSlack,
    redis_url: str | None,
    jira: Account = JIRA,
    linear: Account = LINEAR,
    **overrides: Any,
) -> AppConfig:
    fields: dict[str, Any] = {
        "slack_bot_token": "xoxb-1234-5678-test",
        "slack_signing_secret": payloads.SIGNING_SECRET,
        "slack_api_url": slack.api_url,
        "truto_base_url": sandbox.base_url,
        "truto_api_token": SANDBOX_TOKEN,
        "redis_url": redis_url,
        "truto_webhook_secret": payloads.WEBHOOK_SECRET,
        "webhook_coalesce_seconds": 0.05,
        "channel_card": "full",  # the compact line has tests of its own (test_channel_card.py)
        "subscription_post_seconds": 0,  # Slack's pace has tests of its own (test_pacing.py)
    }
    settings = Settings(**(fields | overrides))
    return AppConfig(
        settings=settings,
        accounts={"jira": jira, "linear": linear},
        channels={JIRA_CHANNEL: "jira", LINEAR_CHANNEL: "linear"},
        default_account="jira",
    )


@asynccontextmanager
async def running(config: AppConfig, sandbox: SandboxServer, slack: FakeSlack) -> AsyncIterator[Harness]:
    bot = build_bot(config)
    core = bot.core
    http_app = bot.http_app(redis_ok=core.redis_ok)
    transport = httpx.ASGITransport(app=http_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://ticketbot.test") as http:
        yield Harness(http, slack, sandbox, core, bot)
    await core.aclose()


@pytest.fixture
async def harness(sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str) -> AsyncIterator[Harness]:
    async with running(
        harness_config(sandbox, fake_slack, clean_redis), sandbox, fake_slack
    ) as running_harness:
        yield running_harness


def last(calls: list[Call]) -> dict[str, Any]:
    assert calls, "expected a call"
    return calls[-1].args


Predicate = Callable[[], bool]
