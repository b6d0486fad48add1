"""Every benchmark at smoke size, one after another: fails on the first that raises or exits
non-zero. Run by `.ci/run`, so a bench cannot rot between the runs that measure.

    python bench/smoke.py [name ...]
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
# Helpers the benches use, not benches.
TIMEOUT = 300  # seconds for one bench at smoke size
HELPERS = {
    "__init__",
    "common",
    "loadgen",
    "signing",
    "stubs",
    "baseline_app",
    "floor_app",
    "smoke",
    "workspaces",
}


def benches() -> list[str]:
    return sorted(p.stem for p in BENCH.glob("*.py") if p.stem not in HELPERS)


def main() -> None:
    names = sys.argv[1:] or benches()
    for name in names:
        started = time.monotonic()
        # A session of its own: a bench that hangs is killed with everything it started (its
        # Redis, the stubs, the bot processes), not just its first process.
        process = subprocess.Popen(
            [sys.executable, str(BENCH / f"{name}.py"), "--smoke"],
            cwd=BENCH.parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},  # what it printed, should it hang
        )
        try:
            stdout, stderr = process.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            stdout, stderr = process.communicate()
            print(f"✗ bench/{name}.py --smoke did not end within {TIMEOUT} s")
            print(stdout[-3000:], stderr[-3000:], sep="\n")
            raise SystemExit(1) from None
        took = time.monotonic() - started
        if process.returncode != 0:
            print(f"✗ bench/{name}.py --smoke exited {process.returncode} after {took:.1f} s")
            print(stdout[-3000:], stderr[-3000:], sep="\n")
            raise SystemExit(1)
        print(f"✓ bench/{name}.py --smoke ({took:.1f} s)")


if __name__ == "__main__":
    main()
