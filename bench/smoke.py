"""Every benchmark at smoke size, one after another: fails on the first that raises or exits
non-zero. Run by `.ci/run`, so a bench cannot rot between the runs that measure.

    python bench/smoke.py [name ...]
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
# Helpers the benches use, not benches.
HELPERS = {"__init__", "common", "loadgen", "signing", "stubs", "baseline_app", "smoke"}


def benches() -> list[str]:
    return sorted(p.stem for p in BENCH.glob("*.py") if p.stem not in HELPERS)


def main() -> None:
    names = sys.argv[1:] or benches()
    for name in names:
        started = time.monotonic()
        result = subprocess.run(
            [sys.executable, str(BENCH / f"{name}.py"), "--smoke"],
            cwd=BENCH.parent,
            capture_output=True,
            text=True,
            timeout=300,
        )
        took = time.monotonic() - started
        if result.returncode != 0:
            print(f"✗ bench/{name}.py --smoke exited {result.returncode} after {took:.1f} s")
            print(result.stdout[-3000:], result.stderr[-3000:], sep="\n")
            raise SystemExit(1)
        print(f"✓ bench/{name}.py --smoke ({took:.1f} s)")


if __name__ == "__main__":
    main()
