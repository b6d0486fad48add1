"""Run the sandbox on a loopback port in a background thread (demo, tests, benchmarks)."""

from __future__ import annotations

import asyncio
import threading
import time
from types import TracebackType

import uvicorn

from bot.sandbox.app import SandboxState, create_sandbox_app


class SandboxServer:
    def __init__(self, state: SandboxState | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = state or SandboxState()
        config = uvicorn.Config(
            create_sandbox_app(self.state), host=host, port=port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread: threading.Thread | None = None
        self.base_url = ""

    def start(self, timeout: float = 10.0) -> str:
        self._thread = threading.Thread(target=lambda: asyncio.run(self._server.serve()), daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the sandbox did not start")
            time.sleep(0.01)
        host, port = self._server.servers[0].sockets[0].getsockname()[:2]
        self.base_url = f"http://{host}:{port}"
        return self.base_url

    def stop(self) -> None:
        self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> SandboxServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
