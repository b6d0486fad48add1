"""Worker processes beside `ticketbot serve`: started without Python between fork and exec, each
sets itself up after exec (killed with its parent, niced), and a hand-started worker is left as
it is."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest

from bot.ops import worker_process
from bot.ops.worker_process import SERVE_PID, WORKER_NICENESS, WorkerProcesses

# What a worker sees of itself after follow_serve(): its niceness and the signal it gets when its
# parent dies (prctl PR_GET_PDEATHSIG).
PROBE = """
import ctypes, os
from bot.ops.worker_process import follow_serve
follow_serve()
signal = ctypes.c_int()
ctypes.CDLL("libc.so.6").prctl(2, ctypes.byref(signal))
print(os.nice(0), signal.value, os.environ.get("TICKETBOT_SERVE_PID"))
"""


def probe(**env: str) -> subprocess.CompletedProcess[str]:
    variables = {k: v for k, v in os.environ.items() if k != SERVE_PID} | env
    return subprocess.run(
        [sys.executable, "-c", PROBE], env=variables, capture_output=True, text=True, timeout=30, check=False
    )


def test_a_worker_serve_started_dies_with_it_and_yields_the_cpu() -> None:
    ours = os.nice(0)
    done = probe(**{SERVE_PID: str(os.getpid())})
    assert done.returncode == 0, done.stderr
    niceness, death_signal, left = done.stdout.split()
    assert int(niceness) == min(ours + WORKER_NICENESS, 19)
    assert int(death_signal) == 9  # SIGKILL
    assert left == "None"  # not handed on to anything the worker starts


def test_a_worker_whose_serve_already_died_exits_at_once() -> None:
    done = probe(**{SERVE_PID: "1"})  # not its parent: the parent it was told of is gone
    assert (done.returncode, done.stdout) == (0, "")


def test_a_worker_started_by_hand_is_left_as_it_is() -> None:
    done = probe()
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(os.nice(0)), "0", "None"]


def test_workers_are_started_without_python_between_fork_and_exec(monkeypatch: pytest.MonkeyPatch) -> None:
    # A preexec_fn runs Python in a forked copy of a process with threads (uvloop's resolver pool):
    # a lock held at the fork is never released there, the child never execs, and the parent
    # waits for it on its event loop forever.
    started: list[tuple[list[str], dict[str, Any]]] = []

    class Recorded:
        def __init__(self, args: list[str], **kwargs: Any) -> None:
            started.append((args, kwargs))

    monkeypatch.setattr(worker_process.subprocess, "Popen", Recorded)
    WorkerProcesses(2)._spawn()
    [(args, kwargs)] = started
    assert args == [sys.executable, "-m", "bot", "worker"]
    assert set(kwargs) == {"env"}  # no preexec_fn, nothing else that forces a fork
    assert kwargs["env"][SERVE_PID] == str(os.getpid())
