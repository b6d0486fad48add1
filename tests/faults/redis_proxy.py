"""A TCP proxy in front of a real Redis that loses one answer on purpose: it forwards a command
that matches, lets Redis run it, then drops the connection before the reply comes back. The
client (redis-py) sees a connection error and, as it does by default, sends the command again
on a new connection. That is the exact step a lost reply happens at in production (a connection
reset, or a reply read after the socket timeout while the event loop was busy)."""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Callable


class LosingProxy:
    """Runs on a thread of its own (its connections are not the test's tasks): `with` it."""

    def __init__(self, redis_port: int, loses: Callable[[bytes], bool], times: int = 1) -> None:
        self.redis_port = redis_port
        self.loses = loses
        self.left = times
        self.lost: list[bytes] = []  # the commands whose answers were lost
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def url(self, db: int | str = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        server.close()

    def __enter__(self) -> LosingProxy:
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *_: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _serve(self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        server_reader, server_writer = await asyncio.open_connection("127.0.0.1", self.redis_port)
        replies = asyncio.create_task(self._pump(server_reader, client_writer))
        try:
            while chunk := await client_reader.read(65536):
                losing = self.left > 0 and self.loses(chunk)
                if losing:
                    self.left -= 1
                    self.lost.append(chunk)
                    replies.cancel()  # nothing more goes back on this connection
                server_writer.write(chunk)
                await server_writer.drain()
                if losing:
                    await asyncio.sleep(0.05)  # Redis runs it; its reply is never passed on
                    break
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            replies.cancel()
            for writer in (client_writer, server_writer):
                writer.close()

    @staticmethod
    async def _pump(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, asyncio.CancelledError):
            while chunk := await reader.read(65536):
                writer.write(chunk)
                await writer.drain()
