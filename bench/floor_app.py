"""The floor: a bare Starlette app that checks a request's Slack signature and answers 200, and
does nothing else. No app can ack faster on this server stack (uvicorn, httptools, uvloop), so
ticketbot's ack latency is compared with it in the same run.

    python bench/floor_app.py --port 3200   (SLACK_SIGNING_SECRET as for ticketbot serve)
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import os
import time

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

SECRET = os.environ["SLACK_SIGNING_SECRET"].encode()


async def events(request: Request) -> Response:
    body = await request.body()
    stamp = request.headers.get("x-slack-request-timestamp", "")
    if not stamp.isdigit() or abs(time.time() - int(stamp)) > 300:
        return Response(status_code=401)
    expected = "v0=" + hmac.new(SECRET, b"v0:" + stamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("x-slack-signature", "")):
        return Response(status_code=401)
    return Response(status_code=200)


async def health(request: Request) -> Response:
    return JSONResponse({"ok": True})


app = Starlette(routes=[Route("/slack/events", events, methods=["POST"]), Route("/healthz", health)])

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=3200)
    uvicorn.run(app, host="127.0.0.1", port=parser.parse_args().port, log_level="warning")
