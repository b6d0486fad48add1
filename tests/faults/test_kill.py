"""A bot process killed with SIGKILL in the middle of a job: after a restart the update is
applied exactly once and the user gets the result. Real processes, real Redis."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import httpx
import pytest

from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from tests.redis_server import RedisProcess, free_port
from tests.scenarios.payloads import sign, slash_command
from tests.test_serve import bot_env, wait_until

pytestmark = pytest.mark.process


def start_bot(
    sandbox: SandboxServer, slack: FakeSlack, redis: RedisProcess
) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    env = bot_env(sandbox, slack, PORT=str(port), REDIS_URL=redis.url, JOB_RECLAIM_SECONDS="1")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200)
    return process, base


def stop_all(slack: FakeSlack, *processes: subprocess.Popen[bytes] | None) -> None:
    for process in processes:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(timeout=10)
    slack.stop()


def test_sigkill_mid_job_then_restart(sandbox: SandboxServer, own_redis: RedisProcess) -> None:
    slack = FakeSlack()
    slack.start()
    first, base = start_bot(sandbox, slack, own_redis)
    second = None
    try:
        sandbox.state.fail_next(delay=2.0, method="PATCH")  # the first try is slow: kill it there
        body = slash_command("PROJ-42 status=done priority=highest", "C0ANY", slack.response_url())
        headers = {**sign(body), "Content-Type": "application/x-www-form-urlencoded"}
        assert httpx.post(f"{base}/slack/events", content=body, headers=headers).status_code == 200
        wait_until(lambda: sandbox.state.calls("PATCH"))
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        second, _ = start_bot(sandbox, slack, own_redis)
        wait_until(lambda: slack.state.named("chat.postMessage"), timeout=30)
        time.sleep(0.5)
        patches = sandbox.state.calls("PATCH")
        assert len(patches) == 2 and len({p.headers["idempotency-key"] for p in patches}) == 1
        assert sandbox.state.patches_applied == 1
        [answer] = slack.state.named("chat.postMessage")
        assert answer.args["channel"] == "C0ANY"
        assert "status To Do → Done" in str(answer.args["blocks"])
    finally:
        stop_all(slack, first, second)


def test_sigkill_mid_batch_then_restart_applies_every_ticket_once(
    sandbox: SandboxServer, own_redis: RedisProcess
) -> None:
    slack = FakeSlack()
    slack.start()
    first, base = start_bot(sandbox, slack, own_redis)
    second = None
    try:
        sandbox.state.latency = 0.3  # the batch is under way when the process dies
        body = slash_command("update PROJ-1 PROJ-2 PROJ-3 priority=high", "C0ANY", slack.response_url())
        headers = {**sign(body), "Content-Type": "application/x-www-form-urlencoded"}
        assert httpx.post(f"{base}/slack/events", content=body, headers=headers).status_code == 200
        wait_until(lambda: sandbox.state.patches_applied >= 1, timeout=30)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
        second, _ = start_bot(sandbox, slack, own_redis)
        wait_until(
            lambda: any(
                "updated 3 tickets" in str(c.args.get("text")) for c in slack.state.named("chat.update")
            ),
            timeout=30,
        )
        time.sleep(0.5)
        applied = sorted(ticket for ticket, _ in sandbox.state.applied)
        assert applied == ["PROJ-1", "PROJ-2", "PROJ-3"]  # each once, whatever was retried
        [started] = slack.state.named("chat.postMessage")  # one message for the batch
        assert started.args["text"] == "Updating 3 tickets… 0 done"
    finally:
        stop_all(slack, first, second)
