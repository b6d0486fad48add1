"""Fuzzing /ticket through the service to the sandbox: any text ends in a command applied with
exactly one PATCH, or in a clear refusal with no PATCH at all; never in a crash.

HYPOTHESIS_PROFILE=long runs 10 000 examples."""

from __future__ import annotations

import asyncio
import uuid
from datetime import date

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import SecretStr

from bot.domain.actors import Actor
from bot.domain.commands import UpdateCommand
from bot.domain.errors import ParseError, UserInputError
from bot.sandbox import SANDBOX_TOKEN, SandboxServer
from bot.service.lookups import Lookups
from bot.service.snapshots import Snapshots
from bot.service.tickets import TicketService
from bot.store.cache import Cache, MemoryBackend
from bot.truto.client import TrutoClient
from bot.truto.errors import NotFound
from tests.conftest import DIRECTORY, JIRA_CHANNEL, StaticDirectory, app_config

VERBS = st.sampled_from(["", "update ", "show ", "edit ", "help ", "updte ", "UPDATE "])
REFS = st.sampled_from(
    ["PROJ-42", "PROJ-7", "#12", "PROJ-9999", "nope", "<https://acme.atlassian.net/browse/PROJ-3|x>", ""]
)

pytestmark = pytest.mark.slow

FIELDS = st.sampled_from(
    [
        "status",
        "priority",
        "assignee",
        "assignees",
        "tags",
        "tag",
        "due",
        "name",
        "title",
        "desc",
        "team",
        "type",
        "collection",
        "parent",
        "cf.points",
        "created_at",
        "created_by",
        "languages",
        "stauts",
        "items",
        "custom_fields",
        "",
    ]
)
OPS = st.sampled_from(["=", "+=", "-=", " = ", "==", ""])
VALUES = st.sampled_from(
    [
        "done",
        "Done",
        "in progress",
        '"In Progress"',
        "todo",
        "high",
        "highest",
        "urgent",
        "ana",
        "me",
        "<@U0ANA|ana>",
        "<@U0GHOST>",
        "ana@acme.example",
        "bruno",
        "backend",
        "frontend,infra",
        "none",
        "",
        "friday",
        "+3d",
        "2026-02-30",
        "someday",
        "'unterminated",
        "“curly”",
        "PROJ-1",
        "Bug",
        "plat",
        "OPS",
        "&lt;!channel&gt;",
        "x" * 300,
        "\u200b\u202e",
    ]
)
ASSIGNMENT = st.tuples(FIELDS, OPS, VALUES).map("".join)
COMMANDS = st.tuples(VERBS, REFS, st.lists(ASSIGNMENT, max_size=6)).map(
    lambda t: f"{t[0]}{t[1]} {' '.join(t[2])}"
)
TEXTS = COMMANDS | st.text(max_size=120)

CACHE = Cache(MemoryBackend())  # lookups stay warm from one example to the next


async def run_one(sandbox: SandboxServer, text: str) -> str:
    client = TrutoClient(sandbox.base_url, SecretStr(SANDBOX_TOKEN))
    service = TicketService(
        app_config(sandbox.base_url),
        client,
        Lookups(client, CACHE),
        Snapshots(CACHE),
        StaticDirectory(DIRECTORY),
    )
    patches_before = len(sandbox.state.calls("PATCH"))
    try:
        command = service.parse(text, JIRA_CHANNEL, today=date(2026, 11, 27))
        if not isinstance(command, UpdateCommand):
            return "not an update"
        await service.apply(
            command, Actor(slack_user_id="U0ANA", name="ana"), JIRA_CHANNEL, idempotency_key=uuid.uuid4().hex
        )
    except (ParseError, UserInputError, NotFound) as refused:
        assert str(refused)
        assert len(sandbox.state.calls("PATCH")) == patches_before, f"{text!r} was refused but sent"
        return "refused"
    finally:
        await client.aclose()
    assert len(sandbox.state.calls("PATCH")) == patches_before + 1
    assert sandbox.state.calls("PATCH")[-1].status == 200, f"{text!r} sent a body the API refused"
    return "applied"


def test_any_command_is_applied_once_or_refused_with_nothing_sent(sandbox_server: SandboxServer) -> None:
    sandbox_server.state.reset()
    outcomes: list[str] = []

    @given(TEXTS)
    @example("PROJ-42 status=done")
    @example(
        'update PROJ-7 status="In Progress" priority=high assignee=<@U0ANA|ana> tags+=backend due=friday'
    )
    @example("PROJ-42 tags-=frontend due=none")
    def check(text: str) -> None:
        outcomes.append(asyncio.run(run_one(sandbox_server, text)))

    check()
    # The generator reaches both sides: real updates and refusals.
    assert {"applied", "refused"} <= set(outcomes)
