"""Job workers in processes of their own, beside the HTTP process.

An ack must not wait while the same interpreter renders a card for an earlier update, so with
Redis (which carries jobs between processes) `ticketbot serve` runs its workers as child
processes, restarts one that exits, and takes them down with it (a child is killed if the
parent dies, however it dies).

The child sets itself up after exec (`follow_serve`), never in a `preexec_fn`: that runs
Python between fork and exec in a copy of a process with threads (uvloop's resolver pool), where
a lock another thread held at the fork is never released; the child then never execs and the
parent, waiting for the exec on its event loop, stops answering (a CI run hung so, 2026-12-07).
Without a `preexec_fn`, CPython starts the child with vfork and runs no Python in between.
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
# The pid of the `ticketbot serve` that started a worker, in the worker's environment.
SERVE_PID = "TICKETBOT_SERVE_PID"


def follow_serve() -> None:
    """In a worker `ticketbot serve` started, first thing: be killed (SIGKILL) when it dies,
    however it dies, and yield the CPU to it (acks have Slack's 3 s deadline; jobs have none).
    A worker started by hand (`ticketbot worker`) is left as it is."""
    serve_pid = os.environ.pop(SERVE_PID, None)
    if serve_pid is None:
        return
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != int(serve_pid):
        # It died before the line above asked to be told: nothing would ever stop this worker.
        raise SystemExit(0)
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICENESS)


class WorkerProcesses:
    def __init__(self, count: int) -> None:
        self.count = count
        self.children: list[subprocess.Popen[bytes]] = []
        self._stopping = False

    def _spawn(self) -> subprocess.Popen[bytes]:
        env = {**os.environ, SERVE_PID: str(os.getpid())}
        return subprocess.Popen([sys.executable, "-m", "bot", "worker"], env=env)

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
