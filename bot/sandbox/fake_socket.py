"""The fake Slack's Socket Mode side: `apps.connections.open` hands out a URL of this websocket,
which greets the app with `hello` and carries envelopes both ways, so `ticketbot socket` runs
fully offline.

Slack's protocol as documented for Socket Mode: after `hello`, Slack sends envelopes
(`{"envelope_id", "type": "slash_commands" | "interactive" | "events_api", "payload",
"accepts_response_payload"}`) and the app acknowledges each by sending back
`{"envelope_id", "payload"?}`. A test (or `ticketbot try --socket`) hands an envelope to `send`,
which waits for that acknowledgement. Served with aiohttp (already a dependency): uvicorn needs
a websocket library the project does not otherwise use.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from typing import Any

from aiohttp import WSMsgType, web

ACK_SECONDS = 3.0  # Slack's time limit for an acknowledgement


class SocketModeServer:
    """One websocket endpoint; the apps connected to it, and the acknowledgements awaited."""

    def __init__(self) -> None:
        self.url = ""
        self._sockets: list[web.WebSocketResponse] = []
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._runner: web.AppRunner | None = None
        self.connected = asyncio.Event()

    async def start(self, host: str = "127.0.0.1") -> None:
        app = web.Application()
        app.router.add_get("/link", self._serve)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"ws://{host}:{port}/link"

    async def stop(self) -> None:
        for ws in list(self._sockets):
            with contextlib.suppress(Exception):
                await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _serve(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        self._sockets.append(ws)
        hello = {
            "type": "hello",
            "num_connections": len(self._sockets),
            "connection_info": {"app_id": "A0FAKE"},
        }
        await ws.send_str(json.dumps(hello))
        self.connected.set()
        try:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                try:
                    data = json.loads(message.data)
                except ValueError:
                    continue
                waiting = self._waiting.pop(str(data.get("envelope_id")), None)
                if waiting is not None and not waiting.done():
                    waiting.set_result(data)
        finally:
            self._sockets.remove(ws)
            if not self._sockets:
                self.connected.clear()
        return ws

    async def send(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Deliver one envelope to a connected app; its acknowledgement (the ack's response
        payload, if any, under "payload"), or {"error": …} when no app answers in time."""
        if not self._sockets:
            return {"error": "no app is connected (start `ticketbot socket` against this fake Slack)"}
        envelope_id = str(uuid.uuid4())
        answered: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[envelope_id] = answered
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        await self._sockets[-1].send_str(json.dumps(envelope))
        try:
            return await asyncio.wait_for(answered, ACK_SECONDS)
        except TimeoutError:
            self._waiting.pop(envelope_id, None)
            return {"error": f"no acknowledgement within {ACK_SECONDS:g} s"}
