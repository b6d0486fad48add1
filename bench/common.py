"""What every benchmark needs: Redis, the stubs process, bot processes, signed requests, stats."""

from __future__ import annotations

import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import redis

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
sys.path.insert(0, str(ROOT))

from bench.signing import SECRET
from bot.sandbox import SANDBOX_TOKEN

# `--smoke`: every bench runs end to end at tiny sizes in a few seconds (`.ci/run` runs them all
# so, through bench/smoke.py), failing only on an exception; its figures mean nothing and are
# not saved.
SMOKE = "--smoke" in sys.argv


def sized(full: int, smoke: int) -> int:
    """A size: the full one, or the smoke run's."""
    return smoke if SMOKE else full


def pause(seconds: float) -> None:
    """A wait that a smoke run shortens (budget windows, settling) to a tenth."""
    time.sleep(seconds / 10 if SMOKE else seconds)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http(url: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.02)
    raise SystemExit(f"{url} did not answer")


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str
    name: str

    @property
    def events_url(self) -> str:
        return f"{self.base}/slack/events"

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0

    def workers(self) -> list[int]:
        """The pids of `ticketbot serve`'s worker processes (its children)."""
        pid = self.process.pid
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return [int(p) for p in found]

    def signal_workers(self, number: int) -> None:
        """SIGSTOP or SIGCONT the worker processes: with them paused, the jobs behind the acks
        wait in the stream (durable) and the acks are measured alone."""
        for pid in self.workers():
            os.kill(pid, number)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Stack:
    """Redis (no persistence), the sandbox and the fake Slack in their own process."""

    def __init__(self, latency: float = 0.15, enforce_rate: str | None = None) -> None:
        self.latency = latency
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("redis-server is not on PATH")
        self.redis_port = free_port()
        self._redis = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.redis_port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.sandbox_port, self.slack_port = free_port(), free_port()
        command = [
            sys.executable,
            str(ROOT / "bench" / "stubs.py"),
            "--sandbox-port",
            str(self.sandbox_port),
            "--slack-port",
            str(self.slack_port),
            "--latency",
            str(latency),
        ]
        if enforce_rate:
            command += ["--enforce-rate", enforce_rate]
        self._stubs = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        assert self._stubs.stdout is not None
        self._stubs.stdout.readline()  # "ready"
        client = redis.Redis(port=self.redis_port)
        for _ in range(200):
            try:
                client.ping()
                break
            except redis.ConnectionError:
                time.sleep(0.05)
        self.servers: list[Server] = []

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"

    @property
    def slack_url(self) -> str:
        return f"http://127.0.0.1:{self.slack_port}"

    def env(self, **extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("SLACK_", "TRUTO_", "TICKETBOT_", "REDIS_"))
        }
        env.update(
            SLACK_BOT_TOKEN="xoxb-bench",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=f"{self.slack_url}/api/",
            TRUTO_BASE_URL=self.sandbox_url,
            TRUTO_API_TOKEN=SANDBOX_TOKEN,
            TRUTO_INTEGRATED_ACCOUNT_ID="sandbox-jira",
            REDIS_URL=f"redis://127.0.0.1:{self.redis_port}/0",
            LOG_LEVEL="WARNING",
            TRUTO_RATE_LIMIT="0",
            USER_QUOTA_PER_MINUTE="0",  # the load comes from one synthetic user
            WORKER_CONCURRENCY="64",
        )
        env.update(extra)
        return env

    def start(self, name: str, port: int | None = None, **extra: str) -> Server:
        """`ticketbot` (ticketbot serve), `ticketbot-distributed` (the same installed by OAuth,
        one workspace in its database), `ticketbot-many` (distributed, its database given), `baseline` (bench/baseline_app.py) or `floor`
        (bench/floor_app.py: a signature check and nothing else)."""
        port = port or free_port()
        env = self.env(**extra)
        if name == "ticketbot-distributed":
            from bench.workspaces import distributed_env

            del env["SLACK_BOT_TOKEN"], env["TRUTO_INTEGRATED_ACCOUNT_ID"]
            env.update(distributed_env())
        if name == "ticketbot-many":  # distributed mode on a database the caller seeded (`extra`)
            del env["SLACK_BOT_TOKEN"], env["TRUTO_INTEGRATED_ACCOUNT_ID"]
        if name.startswith("ticketbot"):
            command = [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)]
        else:
            app = {"baseline": "baseline_app.py", "floor": "floor_app.py"}[name]
            command = [sys.executable, str(ROOT / "bench" / app), "--port", str(port)]
        process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        server = Server(process, f"http://127.0.0.1:{port}", name)
        wait_http(f"{server.base}/healthz")
        self.servers.append(server)
        return server

    def slack_calls(self) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = httpx.get(f"{self.slack_url}/_fake/calls").json()
        return calls

    def seconds_to_card(self, started: float, *, text: str | None = None, path: str | None = None) -> float:
        """Seconds from `started` (time.monotonic()) to the first chat.postMessage at the fake
        Slack since then (its text containing `text`, when given) or call to `path`, polled
        every 5 ms for up to 20 s (then the time waited)."""

        def matches(call: dict[str, Any]) -> bool:
            if call["at"] < started:
                return False
            if path is not None and call["path"] == path:
                return True
            said = str(call.get("args", {}).get("text", ""))
            return bool(call["method"] == "chat.postMessage" and (text is None or text in said))

        while time.monotonic() - started < 20:
            arrived = next((c["at"] for c in self.slack_calls() if matches(c)), None)
            if arrived is not None:
                return float(arrived) - started
            time.sleep(0.005)
        return time.monotonic() - started

    def sandbox_calls(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = httpx.get(f"{self.sandbox_url}/_sandbox/requests").json()["requests"]
        return rows

    def reset_counts(self) -> None:
        """Forget recorded calls (the sandbox's data and latency are kept)."""
        httpx.post(f"{self.slack_url}/_fake/reset")
        httpx.post(f"{self.sandbox_url}/_sandbox/forget")

    def set_latency(self, seconds: float) -> None:
        httpx.post(f"{self.sandbox_url}/_sandbox/latency", json={"seconds": seconds})

    def close(self) -> None:
        for server in self.servers:
            server.stop()
        self._stubs.terminate()
        self._stubs.wait(timeout=10)
        self._redis.terminate()
        self._redis.wait(timeout=10)


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def stats_ms(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    if not ordered:
        return {"n": 0, "p50": 0.0, "p99": 0.0, "max": 0.0}
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "p50": round(statistics.median(ordered) * 1000, 2),
        "p99": round(p99 * 1000, 2),
        "max": round(ordered[-1] * 1000, 2),
    }


def machine() -> dict[str, Any]:
    return {"date": date.today().isoformat(), "cores": os.cpu_count(), "python": platform.python_version()}


def save(name: str, data: dict[str, Any]) -> None:
    if SMOKE:
        print(f"(smoke run: {name}'s figures are not saved)")
        return
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"{name}.json").write_text(json.dumps({"machine": machine(), **data}, indent=2))


def table(rows: list[list[Any]]) -> str:
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)) for row in rows
    )


def verdict(ok: bool, text: str) -> str:
    return f"{'✓' if ok else '✗'} {text}"
