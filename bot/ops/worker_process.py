"""Job workers in processes of their own, beside the HTTP process.

An ack must not wait while the same interpreter renders a card for an earlier update, so with
Redis (which carries jobs between processes) `ticketbot serve` runs its workers as child
processes, restarts one that exits, and takes them down with it (a child is killed if the
parent dies, however it dies).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import subprocess
import sys

log = logging.getLogger(__name__)
PR_SET_PDEATHSIG = 1
WORKER_NICENESS = 10


def _prepare_child() -> None:
    """In the child, before exec: receive SIGKILL when the parent dies, and yield the CPU to
    the HTTP process (acks have Slack's 3 s deadline; jobs have none)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)


class WorkerProcesses:
    def __init__(self, count: int) -> None:
        self.count = count
        self.children: list[subprocess.Popen[bytes]] = []
        self._stopping = False

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen([sys.executable, "-m", "bot", "worker"], preexec_fn=_prepare_child)

    async def run(self) -> None:
        """Start the workers and keep them running until cancelled."""
        self.children = [self._spawn() for _ in range(self.count)]
        try:
            while not self._stopping:
                await asyncio.sleep(1.0)
                for index, child in enumerate(self.children):
                    if child.poll() is not None:
                        log.warning(
                            "worker process %d exited (%s); starting another", child.pid, child.returncode
                        )
                        self.children[index] = self._spawn()
        finally:
            self.stop()

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM to each worker (each drains: see Worker.shutdown), then wait for them."""
        self._stopping = True
        for child in self.children:
            if child.poll() is None:
                child.terminate()
        for child in self.children:
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=timeout)
