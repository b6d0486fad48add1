"""The naive baseline: the same `/ticket update`, written the obvious way.

Bolt's default listener style (process_before_response=False: ack() polled every 10 ms), the
lookup lists the command needs fetched from the API on every command, no cache, a new HTTP
client per command, the ticket read before every PATCH. It reuses ticketbot's grammar and name
resolution, so both apps do the same work and differ only in how.

    python bench/baseline_app.py --port 3100   (environment as for ticketbot serve)
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from slack_bolt.adapter.starlette.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.domain.commands import UpdateCommand
from bot.domain.errors import ParseError, ResolveError
from bot.domain.fields import FIELDS, Kind
from bot.domain.grammar import parse
from bot.domain.matching import item_name, resolve

ENV = os.environ
app = AsyncApp(
    signing_secret=ENV["SLACK_SIGNING_SECRET"],
    client=AsyncWebClient(token=ENV["SLACK_BOT_TOKEN"], base_url=ENV["SLACK_API_URL"]),
)
ACCOUNT = ENV["TRUTO_INTEGRATED_ACCOUNT_ID"]


async def list_all(http: httpx.AsyncClient, resource: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    params: dict[str, Any] = {"integrated_account_id": ACCOUNT, "limit": 100}
    while True:
        page = (await http.get(f"/unified/ticketing/{resource}", params=params)).json()
        items += page.get("result") or []
        if not page.get("next_cursor"):
            return items
        params["next_cursor"] = page["next_cursor"]


@app.command("/ticket")
async def ticket(ack: Any, body: dict[str, Any], respond: Any) -> None:
    await ack()
    try:
        command = parse(body["text"])
    except ParseError as exc:
        await respond(str(exc))
        return
    if not isinstance(command, UpdateCommand):
        await respond("only updates in the baseline")
        return
    headers = {"Authorization": f"Bearer {ENV['TRUTO_API_TOKEN']}"}
    async with httpx.AsyncClient(base_url=ENV["TRUTO_BASE_URL"], headers=headers, timeout=15) as http:
        update: dict[str, Any] = {}
        try:
            for assignment in command.assignments:
                spec = FIELDS[assignment.field]
                if assignment.custom_key is not None:
                    update.setdefault("custom_fields", {})[assignment.custom_key] = assignment.values[0]
                elif spec.kind in (Kind.LOOKUP, Kind.LOOKUP_LIST) and spec.resource:
                    items = await list_all(http, spec.resource)
                    refs = [resolve(str(v), items, what=(spec.name, spec.name)) for v in assignment.values]
                    found = [{"id": r["id"], "name": item_name(r)} for r in refs]
                    update[assignment.field] = found if spec.kind == Kind.LOOKUP_LIST else found[0]
                elif spec.kind == Kind.DATE:
                    update[assignment.field] = assignment.values[0].isoformat()  # type: ignore[union-attr]
                else:
                    update[assignment.field] = assignment.values[0] if assignment.values else None
        except ResolveError as exc:
            await respond(exc.message)
            return
        params = {"integrated_account_id": ACCOUNT}
        before = (await http.get(f"/unified/ticketing/tickets/{command.ref.id}", params=params)).json()
        after = (
            await http.patch(f"/unified/ticketing/tickets/{command.ref.id}", params=params, json=update)
        ).json()
    text = f"{after.get('id')}: status {before.get('status', {}).get('name')} → {after.get('status', {}).get('name')}"
    await respond(
        response_type="in_channel",
        text=text,
        blocks=[{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
    )


handler = AsyncSlackRequestHandler(app)


async def events(request: Request) -> Response:
    return await handler.handle(request)


async def healthz(request: Request) -> Response:
    return JSONResponse({"ok": True})


http_app = Starlette(routes=[Route("/slack/events", events, methods=["POST"]), Route("/healthz", healthz)])

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=3100)
    uvicorn.run(http_app, host="127.0.0.1", port=parser.parse_args().port, log_level="warning")
