"""`ticketbot demo`: a scripted session against the sandbox, with no credentials at all."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from bot.cli.demo_live import run_live_scene
from bot.cli.render_text import changes_text, request_text, ticket_text
from bot.domain.accounts import Account
from bot.domain.actors import Actor
from bot.domain.commands import UpdateCommand
from bot.domain.errors import UserInputError
from bot.ops.config import AppConfig, Settings
from bot.runtime import build_core
from bot.sandbox import SANDBOX_TOKEN, SandboxServer
from bot.truto.errors import TrutoError

JIRA_CHANNEL = "C0JIRA"
LINEAR_CHANNEL = "C0LINEAR"


@dataclass(frozen=True)
class Step:
    channel: str
    text: str
    note: str


SCRIPT = (
    Step(
        JIRA_CHANNEL,
        'update PROJ-42 status="In Progress" priority=high assignee=<@U0ANA|ana> tags+=backend due=friday',
        "a full update; @ana is found by the email on her Slack profile",
    ),
    Step(JIRA_CHANNEL, "PROJ-42 status=finished", "a status the tool does not have"),
    Step(JIRA_CHANNEL, "update PROJ-42 priorty=high", "a misspelt field"),
    Step(JIRA_CHANNEL, "update PROJ-42 due=someday", "a date in no known form"),
    Step(JIRA_CHANNEL, "PROJ-42 assignee=ana", "a name that fits two people"),
    Step(
        JIRA_CHANNEL,
        'PROJ-42 name="Login fails with SSO & SAML" tags-=frontend due=none',
        "rename, untag, clear",
    ),
    Step(
        LINEAR_CHANNEL, "ENG-7 status=todo assignee=me priority=urg", "the same grammar on a Linear account"
    ),
)


class _DemoDirectory:
    """Slack profile emails for the demo's pretend Slack users."""

    def __init__(self) -> None:
        self.emails = {"U0ANA": "ana@acme.example"}

    async def email_of(self, slack_user_id: str) -> str | None:
        return self.emails.get(slack_user_id)

    async def members_of(self, usergroup_id: str) -> frozenset[str]:
        return frozenset()

    async def standing(self, slack_user_id: str) -> str | None:
        return None  # the demo's pretend people are all members


def demo_config(base_url: str) -> AppConfig:
    settings = Settings(truto_base_url=base_url, truto_api_token=SANDBOX_TOKEN)
    accounts = {
        "jira": Account(name="jira", integrated_account_id="sandbox-jira", tool="Jira"),
        "linear": Account(
            name="linear",
            integrated_account_id="sandbox-linear",
            tool="Linear",
            ticket_url_template="https://linear.app/acme/issue/{ref}",
        ),
    }
    channels = {JIRA_CHANNEL: "jira", LINEAR_CHANNEL: "linear"}
    return AppConfig(settings=settings, accounts=accounts, channels=channels, default_account="jira")


async def run_script(
    base_url: str, out: Callable[[str], None], patches_sent: Callable[[], int], today: date | None = None
) -> int:
    """Run every step; returns how many were refused (expected: the invalid ones)."""
    core = build_core(demo_config(base_url), directory=_DemoDirectory())
    actor = Actor(slack_user_id="U0ANA", name="ana")
    refused = 0
    try:
        for number, step in enumerate(SCRIPT, start=1):
            account = core.config.account_for_channel(step.channel)
            tool = account.display_tool if account else "?"
            out(f"\n[{number}] {step.note}\n    /ticket {step.text}    (in a {tool} channel)")
            sent_before = patches_sent()
            try:
                command = core.service.parse(step.text, step.channel, today=today)
                assert isinstance(command, UpdateCommand)
                plan = await core.service.plan(command, actor, step.channel)
                out(_indent(request_text(plan.describe(base_url))))
                result = await core.service.apply(command, actor, step.channel)
            except (UserInputError, TrutoError) as exc:
                refused += 1
                message = exc.user_message if isinstance(exc, TrutoError) else str(exc)
                sent = patches_sent() - sent_before
                out(f"    ✗ {message}\n    ({sent} updates sent to the ticketing API)")
                continue
            out("    ✓ applied:\n" + _indent(changes_text(result.changes)))
            out(_indent(ticket_text(result.ticket)))
    finally:
        await core.aclose()
    return refused


def _indent(text: str) -> str:
    return "\n".join(f"    {line}" for line in text.splitlines())


def run_demo(out: Callable[[str], None] = print) -> int:
    with SandboxServer() as sandbox:
        out(f"ticketbot demo: a sandbox of the unified ticketing API is running at {sandbox.base_url}")
        out("Two connected tools: a Jira-like account and a Linear-like account.")
        state = sandbox.state
        refused = asyncio.run(run_script(sandbox.base_url, out, lambda: len(state.calls("PATCH"))))
        out(f"\nDone: {state.patches_applied} updates applied, {refused} commands refused before any call.")
        config = demo_config(sandbox.base_url)
        asyncio.run(run_live_scene(config, state, sandbox.base_url, _DemoDirectory(), JIRA_CHANNEL, out))
    return 0
