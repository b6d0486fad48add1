"""Several `ticketbot serve` processes on one Redis, as real processes: a worker killed mid-job
is taken over within seconds, a SIGTERM drains without waiting for the takeover timeout, and two
deployments with different accounts never run each other's jobs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.ops.worker_process import WORKER_NICENESS
from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from tests.redis_server import RedisProcess, free_port
from tests.scenarios.payloads import sign, slash_command
from tests.test_serve import bot_env, wait_until

pytestmark = pytest.mark.process


class Bots:
    """`serve` processes started by a test, all killed at its end."""

    def __init__(self, sandbox: SandboxServer, slack: FakeSlack, redis: RedisProcess) -> None:
        self.sandbox, self.slack, self.redis = sandbox, slack, redis
        self.processes: list[subprocess.Popen[bytes]] = []

    def start(self, **env: str) -> tuple[subprocess.Popen[bytes], str]:
        port = free_port()
        variables = {**bot_env(self.sandbox, self.slack, PORT=str(port), REDIS_URL=self.redis.url), **env}
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1"],
            env=variables,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.processes.append(process)
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: httpx.get(f"{base}/readyz").status_code == 200, timeout=20)
        return process, base

    def command(self, base: str, text: str, channel: str = "C0ANY") -> None:
        body = slash_command(text, channel, self.slack.response_url())
        headers = {**sign(body), "Content-Type": "application/x-www-form-urlencoded"}
        assert httpx.post(f"{base}/slack/events", content=body, headers=headers).status_code == 200

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


@pytest.fixture
def bots(sandbox: SandboxServer, own_redis: RedisProcess) -> Iterator[Bots]:
    slack = FakeSlack()
    slack.start()
    started = Bots(sandbox, slack, own_redis)
    yield started
    started.stop()
    slack.stop()


def test_a_job_whose_process_is_killed_is_taken_over_within_seconds(bots: Bots) -> None:
    first, base = bots.start()
    bots.sandbox.state.fail_next(delay=8.0, method="PATCH")  # the first try hangs: kill it there
    bots.command(base, "PROJ-42 priority=highest")
    wait_until(lambda: bots.sandbox.state.calls("PATCH"))
    bots.start()  # a second replica, up before the kill
    killed_at = time.monotonic()
    first.send_signal(signal.SIGKILL)  # its worker child dies with it
    wait_until(lambda: bots.slack.state.named("chat.postMessage"), timeout=15)
    taken_over_in = time.monotonic() - killed_at
    assert taken_over_in < 10.0
    time.sleep(0.5)
    assert bots.sandbox.state.patches_applied == 1
    [answer] = bots.slack.state.named("chat.postMessage")
    assert answer.args["text"].startswith("PROJ-42")


def test_sigterm_drains_twenty_jobs_without_waiting_for_the_takeover_timeout(bots: Bots) -> None:
    env = {"JOB_RECLAIM_SECONDS": "60", "WORKER_CONCURRENCY": "4", "DRAIN_SECONDS": "3"}
    first, base = bots.start(**env)
    bots.start(**env)
    bots.sandbox.state.latency = 0.4
    for n in range(20):
        bots.command(base, f"PROJ-{n + 1} priority=high")
    wait_until(lambda: bots.sandbox.state.calls("PATCH"))
    stopped_at = time.monotonic()
    first.send_signal(signal.SIGTERM)
    wait_until(lambda: len(bots.slack.state.named("chat.postMessage")) >= 20, timeout=40)
    assert time.monotonic() - stopped_at < 30  # nothing waited for the 60 s takeover
    assert first.wait(timeout=15) == 0
    time.sleep(0.5)
    assert bots.sandbox.state.patches_applied == 20
    answered = [c.args["text"].split(":")[0] for c in bots.slack.state.named("chat.postMessage")]
    assert len(answered) == len(set(answered)) == 20  # each ticket's card posted once


def test_two_deployments_on_one_redis_run_only_their_own_jobs(bots: Bots) -> None:
    # One namespace each, as the README says such deployments must have (the default is the
    # Slack app's, which they share).
    _, jira = bots.start(TRUTO_INTEGRATED_ACCOUNT_ID="sandbox-jira", REDIS_NAMESPACE="jira-bot")
    _, linear = bots.start(TRUTO_INTEGRATED_ACCOUNT_ID="sandbox-linear", REDIS_NAMESPACE="linear-bot")
    for n in range(6):
        bots.command(jira, f"PROJ-{n + 1} priority=high")
        bots.command(linear, f"ENG-{n + 1} tags+=design")
    wait_until(lambda: len(bots.slack.state.named("chat.postMessage")) >= 12, timeout=30)
    time.sleep(0.5)
    patches = bots.sandbox.state.calls("PATCH")
    assert len(patches) == 12 and bots.sandbox.state.patches_applied == 12
    for patch in patches:
        account = dict(patch.query)["integrated_account_id"]
        assert account == ("sandbox-jira" if "/PROJ-" in patch.path else "sandbox-linear")


def test_the_workers_serve_started_are_niced_and_die_when_it_is_killed(bots: Bots) -> None:
    process, _ = bots.start()
    children = Path(f"/proc/{process.pid}/task/{process.pid}/children")
    wait_until(lambda: children.read_text().split(), timeout=10)
    workers = [int(pid) for pid in children.read_text().split()]
    assert len(workers) == 1  # WORKER_PROCESSES' default
    expected = min(os.nice(0) + WORKER_NICENESS, 19)

    def stat(pid: int) -> list[str]:  # /proc/<pid>/stat from field 3 on (after the command's ")")
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()

    def niceness(pid: int) -> int:  # field 19
        return int(stat(pid)[16])

    # Set by the worker itself, first thing after its imports.
    wait_until(lambda: all(niceness(pid) == expected for pid in workers), timeout=10)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)

    def alive(pid: int) -> bool:  # a zombie waiting for whoever reaps orphans is dead
        try:
            return stat(pid)[0] != "Z"  # field 3, the state
        except FileNotFoundError:
            return False

    wait_until(lambda: not any(alive(pid) for pid in workers), timeout=10)
