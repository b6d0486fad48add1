"""Custom fields typed by their definitions (the Jira-like profile lists them; the Linear-like
one has no `fields` list and takes what is typed)."""

from __future__ import annotations

from typing import Any

import pytest

from bot.domain.actors import Actor
from bot.domain.commands import UpdateCommand
from bot.domain.errors import UserInputError
from bot.sandbox import SandboxServer
from bot.service.tickets import TicketService
from tests.conftest import JIRA_CHANNEL, LINEAR_CHANNEL

ANA = Actor(slack_user_id="U0ANA", name="ana")


async def sent(service: TicketService, sandbox: SandboxServer, text: str, channel: str = JIRA_CHANNEL) -> Any:
    command = service.parse(text, channel)
    assert isinstance(command, UpdateCommand)
    await service.apply(command, ANA, channel)
    return sandbox.state.calls("PATCH")[-1].body["custom_fields"]


@pytest.mark.parametrize(
    ("text", "custom"),
    [
        ("PROJ-42 cf.story_points=8", {"story_points": 8}),
        ("PROJ-42 cf.story_points=2.5", {"story_points": 2.5}),
        ("PROJ-42 custom.Severity=major", {"severity": "major"}),  # by label, sent by name and value
        ("PROJ-42 cf.severity=Crit", {"severity": "critical"}),  # a unique prefix of the option label
        ("PROJ-42 cf.reviewed=yes", {"reviewed": True}),
        ("PROJ-42 cf.reviewed=FALSE", {"reviewed": False}),
        ("PROJ-42 cf.release_date=2026-12-24", {"release_date": "2026-12-24"}),
        ("PROJ-42 cf.reviewer=ana@acme.example", {"reviewer": "ju0001"}),
        ("PROJ-42 cf.components=api,mobile", {"components": ["api", "mobile"]}),
        ("PROJ-42 cf.components+=API", {"components": ["web", "api"]}),  # added to the current list
        ("PROJ-42 cf.components-=web", {"components": []}),
        ("PROJ-42 cf.story_points=none", {"story_points": None}),
    ],
)
async def test_typed_values(
    service: TicketService, sandbox: SandboxServer, text: str, custom: dict[str, Any]
) -> None:
    assert await sent(service, sandbox, text) == custom


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("PROJ-42 cf.story_points=lots", "cf.story_points: Story points takes a number, got 'lots'"),
        ("PROJ-42 cf.story_points=inf", "cf.story_points: Story points takes a number, got 'inf'"),
        (
            "PROJ-42 cf.severity=huge",
            "cf.severity: Severity takes one of: Minor, Major, Critical; got 'huge'",
        ),
        ("PROJ-42 cf.reviewed=maybe", "cf.reviewed: Reviewed takes yes or no (true/false), got 'maybe'"),
        ("PROJ-42 cf.release_date=soon", "cf.release_date: Release date takes a date"),
        ("PROJ-42 cf.components-=api", "cf.components: cf.components does not hold api (now: web)"),
        (
            "PROJ-42 cf.severity+=major",
            "cf.severity: += and -= work on multi-select fields; severity holds one value",
        ),
        ("PROJ-42 cf.colour=red", "cf.colour: no custom field matches 'colour'"),
        (
            "PROJ-42 cf.sprint_goal=x",
            "cf.sprint_goal: no custom field matches 'sprint_goal'",
        ),  # not a ticket field
    ],
)
async def test_bad_values_are_explained_and_not_sent(
    service: TicketService, sandbox: SandboxServer, text: str, message: str
) -> None:
    with pytest.raises(UserInputError) as caught:
        await sent(service, sandbox, text)
    assert str(caught.value).startswith(message)
    assert sandbox.state.calls("PATCH") == []


async def test_a_tool_without_definitions_takes_the_text(
    service: TicketService, sandbox: SandboxServer
) -> None:
    assert await sent(service, sandbox, "ENG-7 cf.estimate=3", LINEAR_CHANNEL) == {"estimate": "3"}


async def test_an_unknown_custom_field_lists_the_fields_once_by_label(service: TicketService) -> None:
    command = service.parse("PROJ-42 cf.colour=red", None)
    assert isinstance(command, UpdateCommand)
    with pytest.raises(UserInputError) as caught:
        await service.plan(command, Actor(), None)
    message = str(caught.value)
    assert message.startswith("cf.colour: no custom field matches 'colour'; this account's custom fields: ")
    assert "Story points (cf.story_points), Severity (cf.severity)" in message
    assert message.count("story_points") == 1
