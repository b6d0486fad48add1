"""Start-up: `ticketbot serve` answering /healthz, and the import time of the app module.

    python bench/startup.py

Target: ready within 1.5 s.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, Stack, free_port, save, sized, verdict

RUNS = sized(5, 1)


def main() -> None:
    stack = Stack(latency=0.0)
    ready: list[float] = []
    try:
        for _ in range(RUNS):
            port = free_port()
            started = time.monotonic()
            process = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=stack.env(),
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.01)
            ready.append(time.monotonic() - started)
            process.terminate()
            process.wait(timeout=10)
    finally:
        stack.close()
    code = "import time; t = time.perf_counter(); import handlers.app; print(time.perf_counter() - t)"
    imports = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
            ).stdout
        )
        for _ in range(RUNS)
    ]
    median_ready = round(statistics.median(ready), 2)
    median_import = round(statistics.median(imports) * 1000)
    print(
        f"ticketbot serve ready (/healthz 200): median {median_ready} s over {RUNS} starts (max {max(ready):.2f} s)"
    )
    print(f"import handlers.app: median {median_import} ms")
    print(verdict(max(ready) <= 1.5, f"ready within 1.5 s (slowest {max(ready):.2f} s)"))
    save("startup", {"ready_seconds": [round(r, 3) for r in ready], "import_app_ms": median_import})


if __name__ == "__main__":
    main()
