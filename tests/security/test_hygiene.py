"""What the bot keeps and says: expired markers swept, no credentials or response URLs in
output or logs, audit records of bounded size."""

from __future__ import annotations

import io
import json
import logging

import pytest
import redis.asyncio as aioredis

from bot.ops.config import ConfigError, load_config
from bot.ops.logs import configure
from bot.service.audit import MAX_RECORD_BYTES, AuditRecord, AuditTrail
from bot.store import keys
from bot.store.cache import MemoryBackend


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_expired_markers_are_swept_without_redis() -> None:
    clock = Clock()
    markers = MemoryBackend(clock)
    for n in range(1000):
        assert await markers.try_lock(f"dedupe:{n}", 1.0) is not None
    clock.now += MemoryBackend.SWEEP_EVERY + 1
    await markers.try_lock("dedupe:new", 1.0)
    assert len(markers) == 1


def test_a_configuration_error_does_not_print_the_redis_password() -> None:
    with pytest.raises(ConfigError) as error:
        load_config(redis_url="redis//:hunter22-secret@redis.internal:6379/0")
    assert "hunter22-secret" not in str(error.value)
    assert "redis//:***@redis.internal" in str(error.value)


def test_ticketbot_check_masks_the_password(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli.main import main

    monkeypatch.setenv("REDIS_URL", "http://:hunter22-secret@redis.internal:6379/0")
    main(["check"])
    out = capsys.readouterr()
    assert "hunter22-secret" not in out.out + out.err
    assert "REDIS_URL" in out.out + out.err


@pytest.mark.parametrize("level", ["DEBUG", "INFO"])
def test_logs_hold_no_response_url_and_no_url_password(level: str) -> None:
    stream = io.StringIO()
    configure(level, stream=stream, json_lines=True)
    try:
        payload = {"response_url": "https://hooks.slack.com/commands/T0TEAM/123456/AbCdEf0123"}
        logging.getLogger("slack_bolt.test").debug("body %s", json.dumps(payload))
        logging.getLogger("bot.test").warning(
            "answered https://hooks.slack.com/actions/T0TEAM/99/tok3n via redis://:pw-secret@h/0"
        )
    finally:
        logging.basicConfig(force=True, handlers=[logging.NullHandler()])
    text = stream.getvalue()
    assert "AbCdEf0123" not in text and "tok3n" not in text and "pw-secret" not in text
    assert "[response_url]" in text


async def test_audit_records_are_capped(clean_redis: str) -> None:
    client = aioredis.from_url(clean_redis)
    trail = AuditTrail(client)
    changes = [{"field": f"cf.f{n}", "before": "x" * 5000, "after": "y" * 5000} for n in range(30)]
    await trail.record(
        AuditRecord.now(
            user_id="U0ANA", user_name="ana", channel="C1", account="jira", ticket="PROJ-1", changes=changes
        )
    )
    [(_, fields)] = await client.xrange(keys.key("audit"))
    assert len(fields[b"r"]) <= MAX_RECORD_BYTES
    stored = json.loads(fields[b"r"])
    assert stored["changes"][-1]["after"].endswith("more")
    [record] = await trail.read(ticket="PROJ-1")
    assert record.changes[0]["before"].endswith("…")
    await client.aclose()


def test_extra_fields_reach_the_json_line() -> None:
    stream = io.StringIO()
    configure("INFO", stream=stream, json_lines=True)
    try:
        logging.getLogger("bot.test").warning("form field missing", extra={"account": "jira"})
    finally:
        logging.basicConfig(force=True, handlers=[logging.NullHandler()])
    assert json.loads(stream.getvalue())["account"] == "jira"
