"""Jobs are typed and self-contained: they run on the account they were acknowledged for, old
jobs still run after an upgrade, and another deployment's jobs are left to it."""

from __future__ import annotations

import redis.asyncio as aioredis

from bot.store import keys
from tests.conftest import JIRA_CHANNEL, LINEAR_CHANNEL
from tests.scenarios.conftest import Harness, last


async def test_a_command_job_runs_on_the_account_it_names_not_the_channels(harness: Harness) -> None:
    """Acknowledged in the Jira channel; the routing changes before it runs: it still runs on Jira."""
    harness.run_jobs = False
    await harness.command("PROJ-42 priority=high", channel=JIRA_CHANNEL)
    harness.bot.deps.config = harness.bot.deps.config.model_copy(
        update={"channels": {JIRA_CHANNEL: "linear", LINEAR_CHANNEL: "linear"}}
    )
    await harness.bot.worker.drain()
    [patch] = harness.sandbox.state.calls("PATCH")
    assert patch.path == "/unified/ticketing/tickets/PROJ-42"
    assert ("integrated_account_id", "sandbox-jira") in patch.query


async def test_a_version_1_job_still_runs(harness: Harness) -> None:
    old = {
        "kind": "command",
        "text": "PROJ-42 priority=low",
        "ticket": "PROJ-42",
        "channel": JIRA_CHANNEL,
        "user": "U0ANA",
        "user_name": "ana",
        "response_url": harness.slack.response_url(),
        "reply": "in_channel",
        "key": "old-job-key",
    }
    await harness.bot.deps.jobs.put(old)
    await harness.bot.worker.drain()
    [patch] = harness.sandbox.state.calls("PATCH")
    assert patch.body == {"priority": {"id": "jp4", "name": "Low"}}
    assert last(harness.calls("chat.postMessage"))["channel"] == JIRA_CHANNEL


async def test_another_deployments_job_is_neither_run_nor_acknowledged(
    harness: Harness, clean_redis: str
) -> None:
    theirs = {
        "v": 2,
        "kind": "fields",
        "account": "zendesk",
        "integrated_account_id": "ia-elsewhere",
        "ticket": "42",
        "body": {"name": "x"},
        "key": "their-key",
    }
    await harness.bot.deps.jobs.put(theirs)
    await harness.bot.worker.drain()
    assert harness.sandbox.state.calls() == []
    client = aioredis.from_url(clean_redis)
    pending = await client.xpending(keys.jobs_stream(), "workers")
    await client.aclose()
    assert pending["pending"] == 1  # still there for a worker that has the account
