"""A Workflow Builder step's event is an input like any other: unsigned or forged, it does
nothing (no job, no Slack call, no ticketing call); signed, its inputs cannot walk the API's
path or smuggle a second ticket."""

from __future__ import annotations

import asyncio
import json
import time

import pytest

from bot.domain.accounts import Permissions, UpdateRule
from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from tests.conftest import JIRA
from tests.scenarios.conftest import Harness, harness_config, running
from tests.scenarios.payloads import SIGNING_SECRET, sign
from tests.scenarios.test_workflow_steps import executed
from tests.security.conftest import bot_keys, nothing_happened


async def send(harness: Harness, body: str, headers: dict[str, str]) -> int:
    response = await harness.http.post(
        "/slack/events", content=body, headers={"Content-Type": "application/json", **headers}
    )
    await harness.bot.worker.drain()
    return response.status_code


def _forgeries() -> dict[str, tuple[str, dict[str, str]]]:
    body = json.dumps(
        executed("update_ticket", {"ticket": "PROJ-42", "status": "Done", "updated_by": "U0ANA"})
    )
    return {
        "unsigned": (body, {}),
        "signed with another secret": (body, sign(body, secret="x" + SIGNING_SECRET)),
        "replayed after six minutes": (body, sign(body, timestamp=int(time.time()) - 360)),
        "inputs changed after signing": (body.replace("Done", "Closed"), sign(body)),
    }


@pytest.mark.parametrize("name", list(_forgeries()))
async def test_an_unverified_step_event_does_nothing(edge: Harness, clean_redis: str, name: str) -> None:
    body, headers = _forgeries()[name]
    before = bot_keys(clean_redis)
    assert await send(edge, body, headers) == 401
    nothing_happened(edge)
    assert bot_keys(clean_redis) == before


@pytest.mark.parametrize("ticket", ["../../admin", "PROJ-1/../../x", "%2e%2e", "PROJ-1,PROJ-2"])
async def test_step_inputs_cannot_walk_the_api_path(edge: Harness, ticket: str) -> None:
    body = json.dumps(executed("update_ticket", {"ticket": ticket, "status": "Done", "updated_by": "U0ANA"}))
    assert await send(edge, body, sign(body)) == 200
    for _ in range(100):  # the step is failed by a lazy listener, after the ack
        if edge.slack.state.named("functions.completeError"):
            break
        await asyncio.sleep(0.05)
    assert edge.sandbox.state.calls() == []
    [failed] = edge.slack.state.named("functions.completeError")
    assert failed.args["error"].endswith("Nothing was sent.")


async def test_a_step_naming_an_admin_gains_nothing(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> None:
    """Updates restricted to U0ADMIN: U0ANA is refused by /ticket update; a workflow whose author
    set "Updated by" to U0ADMIN changes nothing, comments nothing, and names nobody."""
    jira = JIRA.model_copy(update={"permissions": Permissions(update=UpdateRule(users=("U0ADMIN",)))})
    async with running(harness_config(sandbox, fake_slack, clean_redis, jira=jira), sandbox, fake_slack) as h:
        await h.command("update PROJ-42 status=Done")  # as U0ANA
        assert h.sandbox.state.calls("PATCH") == []
        inputs = {"ticket": "PROJ-42", "status": "Done", "comment": "done", "updated_by": "U0ADMIN"}
        await h.event(executed("update_ticket", inputs))
        assert h.sandbox.state.calls("PATCH") == []
        assert [c for c in h.sandbox.state.calls("POST") if "comments" in c.path] == []
        [error] = h.slack.state.named("functions.completeError")
        assert "not started by a person Slack can vouch for" in error.args["error"]
        assert await h.core.service.audit.read(ticket="PROJ-42") == []  # type: ignore[union-attr]
