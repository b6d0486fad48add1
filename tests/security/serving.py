"""A real `ticketbot serve` process for the attack tests that need one (memory, connections)."""

from __future__ import annotations

import subprocess
import sys

import httpx

from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from tests.redis_server import free_port
from tests.test_serve import bot_env, wait_until


class Served:
    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process = process
        self.port = port
        self.url = f"http://127.0.0.1:{port}"

    def peak_rss_mib(self) -> float:
        """The process's peak resident memory (VmHWM), from /proc."""
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        raise AssertionError("no VmHWM")


def start_serve(sandbox: SandboxServer, slack: FakeSlack, **env_extra: str) -> Served:
    """`ticketbot serve` on a free port (its output discarded), ready for requests."""
    port = free_port()
    env = bot_env(sandbox, slack, PORT=str(port), **env_extra)
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    served = Served(process, port)
    try:
        wait_until(lambda: httpx.get(f"{served.url}/healthz").status_code == 200)
    except BaseException:
        stop_serve(served)
        raise
    return served


def stop_serve(served: Served) -> None:
    served.process.terminate()
    served.process.wait(timeout=10)
