"""The demo's last scene: a live card. The bot runs on loopback with a stand-in Slack Web API;
`/ticket` posts a card; the ticket is then changed in the tool itself (the sandbox's control
endpoint), the sandbox sends its signed webhook, and the card in Slack changes by itself; a
subscribed channel hears of it; a Workflow Builder step updates another ticket."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import html
import json
import re
import secrets
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import urlencode

import httpx
import uvicorn
from pydantic import SecretStr

from bot.cli.try_it import started_by, step_payload
from bot.ops.config import AppConfig
from bot.sandbox import SANDBOX_TOKEN, SandboxState
from bot.sandbox.fake_slack import FakeSlack
from bot.truto import webhook_admin
from bot.truto.client import TrutoClient
from handlers.app import SlackBot, build_bot

Out = Callable[[str], None]
SIGNING_SECRET = secrets.token_hex(16)  # this run's pretend Slack app


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _signed(body: str, content_type: str) -> dict[str, str]:
    """The headers Slack sends with `body`, signed with this run's secret."""
    stamp = str(int(time.time()))
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{stamp}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "X-Slack-Request-Timestamp": stamp,
        "X-Slack-Signature": f"v0={digest}",
        "Content-Type": content_type,
    }


def _signed_command(text: str, channel: str, response_url: str) -> tuple[str, dict[str, str]]:
    body = urlencode(
        {
            "team_id": "T0DEMO",
            "channel_id": channel,
            "user_id": "U0ANA",
            "user_name": "ana",
            "command": "/ticket",
            "text": text,
            "response_url": response_url,
            "trigger_id": f"{time.time():.0f}.1.demo",
        }
    )
    return body, _signed(body, "application/x-www-form-urlencoded")


@asynccontextmanager
async def _bot_on_loopback(config: AppConfig, directory: Any, port: int) -> AsyncIterator[SlackBot]:
    bot = build_bot(config, directory=directory)
    server = uvicorn.Server(
        uvicorn.Config(
            bot.http_app(),
            host="127.0.0.1",
            port=port,
            lifespan="off",
            log_level="error",
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn offers no event to wait on
        await asyncio.sleep(0.01)
    try:
        yield bot
    finally:
        server.should_exit = True
        await task
        await bot.core.aclose()


def _card_line(args: dict[str, Any]) -> str:
    """A card as one line: its fields and the line under them."""
    words: list[str] = []
    for block in args.get("blocks") or []:
        if block.get("type") == "section" and not block.get("fields"):
            words.append(str((block.get("text") or {}).get("text", "")))
        for field in block.get("fields") or []:
            words.append(str(field["text"]).replace("*", "").replace("\n", " "))
        if block.get("type") == "context":
            words += [str(e.get("text", "")) for e in block["elements"]]
    line = " · ".join(words)
    line = re.sub(r"<!date\^[^|>]*\|([^>]*)>", r"\1", line)  # a date Slack localises: its fallback
    line = re.sub(r"<https?://[^|>]*\|([^>]*)>", r"\1", line)  # a link: its text
    return html.unescape(re.sub(r"<@(\w+)>", r"@\1", line))


async def run_live_scene(
    config: AppConfig, sandbox: SandboxState, base_url: str, directory: Any, channel: str, out: Out
) -> None:
    slack = FakeSlack()
    slack.start()
    try:
        out("\n[live card] the bot serves /slack/events and /truto/webhooks on loopback")
        url = f"http://127.0.0.1:{_free_port()}"
        # As `ticketbot webhooks register` does: create the webhook, then give the bot its secret.
        client = TrutoClient(base_url, SecretStr(SANDBOX_TOKEN))
        created = await client.create_webhook(
            f"{url}{webhook_admin.RECEIVER_PATH}", webhook_admin.EVENT_TYPES
        )
        await client.aclose()
        live_config = _with_slack(config, slack, str(created["secret"]))
        slack.state.memberships["U0ANA"] = [channel, OPS]
        slack.state.emails["U0ANA"] = "ana@acme.example"
        async with _bot_on_loopback(live_config, directory, int(url.rsplit(":", 1)[1])) as bot:
            body, headers = _signed_command("subscribe changed=status", OPS, slack.response_url())
            async with httpx.AsyncClient(base_url=url) as http:
                await http.post("/slack/events", content=body, headers=headers)
            said = await _posted_in(slack, OPS, 1)
            announced = html.unescape(re.sub(r"<@(\w+)>", r"@\1", str(said[0].args["text"])))
            out(f"    /ticket subscribe changed=status in {OPS} → {announced}")
            body, headers = _signed_command("PROJ-42 status=todo", channel, slack.response_url())
            async with httpx.AsyncClient(base_url=url) as http:
                await http.post("/slack/events", content=body, headers=headers)
            await _settle(bot, sandbox, 1)
            [posted] = [c for c in slack.state.named("chat.postMessage") if c.args.get("channel") == channel]
            out(f"    /ticket PROJ-42 status=todo → card posted in {channel}:")
            out(f"      {_card_line(posted.args)}")
            out("    Someone moves PROJ-42 to Done in Jira itself (not through the bot)…")
            async with httpx.AsyncClient(base_url=base_url) as tool:
                await tool.patch("/_sandbox/tickets/sandbox-jira/PROJ-42", json={"status": {"id": "js4"}})
            await _settle(bot, sandbox, 2)
            updates = slack.state.named("chat.update")
            for update in updates:
                out("    …its signed webhook arrives; chat.update of that card:")
                out(f"      {_card_line(update.args)}")
            out(
                f"    ({len(updates)} card update for 2 webhook events: the bot's own change echoed for free)"
            )
            lines = (await _posted_in(slack, OPS, 3))[1:]
            out(f"\n[subscription] {OPS} hears of each status change; the next ones in the first's thread:")
            for line in lines:
                where = "  └ " if line.args.get("thread_ts") else ""
                out(f"      {where}{_card_line(line.args).replace('*', '')}")
            await _workflow_step(bot, sandbox, url, slack, out)
    finally:
        slack.stop()


async def _workflow_step(bot: SlackBot, sandbox: SandboxState, url: str, slack: FakeSlack, out: Out) -> None:
    """A Workflow Builder workflow reaches the step "Update a ticket": Slack's signed event, the
    update applied as the person who ran it, the step completed with its outputs."""
    inputs = {"ticket": "PROJ-41", "priority": "High", "comment": "Escalated by the triage workflow"}
    body = json.dumps(step_payload("T0DEMO", "update_ticket", {**inputs, **started_by("U0ANA")}))
    async with httpx.AsyncClient(base_url=url) as http:
        await http.post("/slack/events", content=body, headers=_signed(body, "application/json"))
    await _settle(bot, sandbox, 0)
    out("\n[workflow step] a workflow runs “Update a ticket” with " + json.dumps(inputs, ensure_ascii=False))
    for done in slack.state.named("functions.completeSuccess"):
        outputs = done.args.get("outputs") or {}
        status, priority = outputs.get("status"), outputs.get("priority")
        out(f"    functions.completeSuccess → status {status}, priority {priority}:")
        out(f"      {outputs.get('summary')}")


OPS = "C0OPS"  # a channel that subscribes (it uses Jira too, the default account)


async def _posted_in(slack: FakeSlack, channel: str, count: int) -> list[Any]:
    """The bot's posts in `channel`, once there are `count` of them (or after 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        found = [c for c in slack.state.named("chat.postMessage") if c.args.get("channel") == channel]
        if len(found) >= count or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.02)


def _with_slack(config: AppConfig, slack: FakeSlack, webhook_secret: str) -> AppConfig:
    settings = config.settings.model_copy(
        update={
            "slack_bot_token": SecretStr("xoxb-demo"),
            "slack_signing_secret": SecretStr(SIGNING_SECRET),
            "slack_api_url": slack.api_url,
            "truto_webhook_secret": SecretStr(webhook_secret) if webhook_secret else None,
            "webhook_coalesce_seconds": 0.05,
        }
    )
    return config.model_copy(update={"settings": settings})


async def _settle(bot: SlackBot, sandbox: SandboxState, deliveries: int) -> None:
    """Run the queued jobs until the sandbox's webhook deliveries are answered."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        await bot.worker.drain()
        if len([d for d in sandbox.webhooks.deliveries if d.statuses]) >= deliveries:
            break
        await asyncio.sleep(0.02)
    with contextlib.suppress(Exception):
        await bot.worker.drain()
