"""Operations seen from a running app: metrics move, audit records are kept, logs are clean
JSON lines without secrets, probes answer."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
from collections.abc import Iterator

import pytest

from bot.cli.main import main
from bot.ops.logs import configure
from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from bot.store import keys
from handlers.kit.surface import guarded
from tests.scenarios.conftest import Harness, harness_config, running
from tests.scenarios.payloads import SIGNING_SECRET


def sample(text: str, name: str, **labels: str) -> float:
    wanted = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    selector = f"{{{wanted}}}" if wanted else ""
    pattern = re.compile(rf"^{re.escape(name + selector)} ([0-9.e+-]+)$", re.MULTILINE)
    match = pattern.search(text)
    return float(match.group(1)) if match else 0.0


async def metrics(harness: Harness) -> str:
    response = await harness.http.get("/metrics")
    assert response.status_code == 200
    return response.text


async def test_metrics_move_after_a_scenario(harness: Harness) -> None:
    before = await metrics(harness)
    await harness.command("PROJ-42 status=done")
    await harness.command("PROJ-42 priority=high")
    after = await metrics(harness)
    assert (
        sample(after, "ticketbot_ack_seconds_count", surface="command")
        - sample(before, "ticketbot_ack_seconds_count", surface="command")
        == 2
    )
    assert (
        sample(after, "ticketbot_updates_total", outcome="applied")
        - sample(before, "ticketbot_updates_total", outcome="applied")
        == 2
    )
    assert (
        sample(after, "ticketbot_api_request_seconds_count", operation="update_ticket", status="200")
        - sample(before, "ticketbot_api_request_seconds_count", operation="update_ticket", status="200")
        == 2
    )
    assert sample(after, "ticketbot_cache_events_total", resource="ticket_status", event="hit") > sample(
        before, "ticketbot_cache_events_total", resource="ticket_status", event="hit"
    )
    # Every job the scenario queued was finished (other tests may have left some of their own).
    assert sample(after, "ticketbot_jobs_pending") == sample(before, "ticketbot_jobs_pending")


async def test_probes(harness: Harness) -> None:
    assert (await harness.http.get("/healthz")).json() == {"ok": True}
    ready = await harness.http.get("/readyz")
    assert ready.status_code == 200 and ready.json() == {"ok": True, "redis": "ok"}


async def test_audit_records_are_written_and_read_back(
    harness: Harness, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    await harness.command('PROJ-42 status="In Progress" priority=high')
    await harness.command("PROJ-41 status=done")
    records = await harness.core.service.audit.read(ticket="PROJ-42")  # type: ignore[union-attr]
    [record] = records
    assert (record.user_id, record.user_name, record.channel, record.account) == (
        "U0ANA",
        "ana",
        "CJIRA",
        "jira",
    )
    assert record.changes == [
        {"field": "status", "before": "To Do", "after": "In Progress"},
        {"field": "priority", "before": "Medium", "after": "High"},
    ]
    assert record.status == 200 and len(record.idempotency_key) == 40
    settings = harness.core.config.settings
    monkeypatch.setenv("REDIS_URL", str(settings.redis_url))
    monkeypatch.setenv("TRUTO_API_TOKEN", "sandbox-token")
    monkeypatch.setenv("TRUTO_BASE_URL", settings.truto_base_url)
    # The CLI reads the bot's keys: the same namespace (derived from the same settings, or set).
    monkeypatch.setenv("REDIS_NAMESPACE", keys.current())
    assert await asyncio.to_thread(main, ["audit", "--user", "U0ANA", "--since", "1h"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == ["time", "user", "channel", "account", "ticket", "changes", "key"]
    assert "PROJ-41" in table[1] and "status: Done → Done" not in table[1]
    assert "PROJ-42" in table[2] and "status: To Do → In Progress; priority: Medium → High" in table[2]


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    secrets = ["xoxb-1234-5678-test", SIGNING_SECRET, "sandbox-token"]
    configure("DEBUG", secrets=secrets, stream=stream, json_lines=True)
    yield stream
    logging.basicConfig(force=True, handlers=[logging.NullHandler()])


async def test_logs_are_json_lines_with_request_fields_and_no_secrets(
    harness: Harness, json_log: io.StringIO
) -> None:
    await harness.command("PROJ-42 status=done")
    harness.sandbox.state.fail_next(401, method="PATCH")
    await harness.command("PROJ-42 status=todo")
    logging.getLogger("test").info("a secret in a message: %s", SIGNING_SECRET)
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    assert lines and all({"ts", "level", "logger", "msg"} <= set(line) for line in lines)
    audit = [line for line in lines if line["logger"] == "ticketbot.audit"]
    assert audit and audit[0]["audit"]["ticket"] == "PROJ-42"
    assert {"request_id", "team", "user", "channel", "ticket", "account"} <= set(audit[0])
    text = json_log.getvalue()
    for secret in ("xoxb-1234-5678-test", SIGNING_SECRET, "sandbox-token"):
        assert secret not in text
    assert "[redacted]" in text
    # No ticket description at INFO and above (DEBUG may show the requests themselves).
    info = json.dumps([line for line in lines if line["level"] != "debug"])
    assert "Details of ticket" not in info and "SSO login" not in info


async def test_a_workflow_steps_token_never_reaches_the_logs(harness: Harness, json_log: io.StringIO) -> None:
    from tests.scenarios.test_workflow_steps import executed

    envelope = executed("get_ticket", {"ticket": "PROJ-42"})
    await harness.event(envelope)
    assert harness.calls("functions.completeSuccess")
    logging.getLogger("test").debug("a payload dumped: %s", json.dumps(envelope))
    text = json_log.getvalue()
    assert "xwfp-1234-5678-workflow-token" not in text and "xwfp-ticketbot-try" not in text
    assert '\\"bot_access_token\\": \\"***\\"' in text  # the name stays, for meaning


async def test_building_the_app_warns_of_nothing(
    sandbox: SandboxServer,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Bolt read SLACK_BOT_TOKEN itself and warned at every start that it was unused."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-1234-5678-test")
    caplog.set_level(logging.WARNING)
    async with running(harness_config(sandbox, fake_slack, None), sandbox, fake_slack):
        pass
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING] == []


def test_a_guarded_listener_must_take_the_client_it_tells_errors_through() -> None:
    async def listener(body: dict[str, object]) -> None: ...

    with pytest.raises(TypeError, match="must take `client`"):
        guarded(listener)
