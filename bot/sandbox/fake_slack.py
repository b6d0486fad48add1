"""A fake Slack Web API on loopback (tests, benchmarks, trying the bot offline): records every
call and answers like Slack.

Also serves response_url posts at /response/<id>, and Socket Mode (`apps.connections.open`
answers the URL of its websocket, fake_socket.py). Faults: `fail_next(method, status=429,
retry_after=1)` or `fail_next(method, error="expired_trigger_id")` (HTTP 200, ok: false).

Run on its own: `python -m bot.sandbox.fake_slack --port 8020` (or `ticketbot fake-slack`).
Over HTTP: `GET /_fake/calls` (every call so far, with its blocks and views), `POST
/_fake/reset`, `POST /_fake/users` (`{"emails": {"U0ANA": "ana@acme.example"}, "admins":
["U0ANA"], "guests": {"U0GUEST": "restricted"}}`), `POST /_fake/channels` (`{"U0ANA":
["C0TRY"]}`: who is in which channel), and `POST /_fake/socket/<type>` (an
envelope's payload, delivered to the app connected over Socket Mode; answers its
acknowledgement).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.sandbox.fake_socket import SocketModeServer


@dataclass
class Call:
    method: str  # "chat.postMessage", … or "response" for response_url posts
    args: dict[str, Any]
    path: str = ""
    at: float = field(default_factory=time.monotonic)
    answer: dict[str, Any] = field(default_factory=dict)
    authorization: str = ""


@dataclass
class SlackFault:
    method: str
    status: int = 200
    error: str | None = None
    retry_after: float | None = None


@dataclass
class FakeSlackState:
    emails: dict[str, str] = field(default_factory=dict)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    memberships: dict[str, list[str]] = field(default_factory=dict)  # user → channel ids they are in
    admins: set[str] = field(default_factory=set)  # "U0ANA" (admin everywhere) or "T0ONE:W0BOB"
    # Who is not a full member: user → "restricted" / "ultra_restricted" (guests), "stranger", or
    # a team id (their home organisation, as Slack Connect shows users from elsewhere).
    guests: dict[str, str] = field(default_factory=dict)
    time_zones: dict[str, str] = field(default_factory=dict)  # user → their profile's tz (IANA)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (channel, ts) → message
    # Workflow steps completed or failed: a second completion of one is refused, as Slack does.
    executions: dict[str, str] = field(default_factory=dict)  # function_execution_id → "completed"|"failed"
    calls: list[Call] = field(default_factory=list)
    faults: list[SlackFault] = field(default_factory=list)
    socket: SocketModeServer | None = None  # Socket Mode, once the server runs
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def named(self, method: str) -> list[Call]:
        return [c for c in list(self.calls) if c.method == method]

    def fail_next(self, method: str, **kwargs: Any) -> None:
        self.faults.append(SlackFault(method, **kwargs))

    def reset(self) -> None:
        self.calls.clear()
        self.faults.clear()
        self.usergroups.clear()
        self.memberships.clear()
        self.admins.clear()
        self.guests.clear()
        self.time_zones.clear()
        self.messages.clear()
        self.executions.clear()

    def take_fault(self, method: str) -> SlackFault | None:
        with self._lock:
            for fault in self.faults:
                if fault.method == method:
                    self.faults.remove(fault)
                    return fault
        return None

    def next_id(self) -> int:
        with self._lock:
            return next(self._ids)


def _decode(value: str) -> Any:
    if value[:1] in "[{":
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


async def _args(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw:  # slack_sdk sends some methods' arguments in the query string
        return {k: _decode(v) for k, v in request.query_params.items()}
    if "json" in request.headers.get("content-type", ""):
        data = json.loads(raw)
        return data if isinstance(data, dict) else {"_": data}
    return {k: _decode(v) for k, v in parse_qsl(raw.decode())}


def _oauth_answer(args: dict[str, Any]) -> dict[str, Any]:
    """oauth.v2.access as Slack answers it. The code names the workspace: `T0ACME` or
    `T0ACME.anything` installs team T0ACME; `E0GRID.org` is an org-wide install of Grid org E0GRID;
    a code ending in `.rotating` gets a token that expires (token rotation). A refresh
    (`grant_type=refresh_token`) answers a new token for the same workspace."""
    if args.get("grant_type") == "refresh_token":
        parts = str(args.get("refresh_token") or "").split("-")  # xoxe-1-<team>-<random>
        team = parts[2] if len(parts) > 3 else ""
        return {
            "ok": True,
            "access_token": f"xoxe.xoxb-{team}-{uuid.uuid4().hex[:12]}",
            "refresh_token": f"xoxe-1-{team}-{uuid.uuid4().hex}",
            "expires_in": 43200,
            "token_type": "bot",
        }
    code = str(args.get("code") or "")
    if not code or code.startswith("bad"):
        return {"ok": False, "error": "invalid_code"}
    owner, _, flavour = code.partition(".")
    org = owner.startswith("E")
    answer: dict[str, Any] = {
        "ok": True,
        "app_id": "A0TICKETBOT",
        "authed_user": {"id": "U0ADMIN"},
        "scope": str(args.get("scope") or "commands,chat:write"),
        "token_type": "bot",
        "access_token": f"xoxb-{owner}-{uuid.uuid4().hex[:12]}",
        "bot_user_id": f"U0BOT{owner[-4:]}",
        "team": None if org else {"id": owner, "name": f"Team {owner}"},
        "enterprise": {"id": owner, "name": f"Org {owner}"} if org else None,
        "is_enterprise_install": org,
    }
    if flavour == "rotating":
        answer["access_token"] = f"xoxe.xoxb-{owner}-{uuid.uuid4().hex[:12]}"
        answer["refresh_token"] = f"xoxe-1-{owner}-{uuid.uuid4().hex}"
        answer["expires_in"] = 43200
    return answer


def _complete_step(state: FakeSlackState, method: str, args: dict[str, Any]) -> dict[str, Any]:
    """A step ends once; outputs must be an object, an error must say something."""
    execution = str(args.get("function_execution_id") or "")
    if not execution:
        return {"ok": False, "error": "invalid_arguments"}
    success = method == "functions.completeSuccess"
    if (success and not isinstance(args.get("outputs"), dict)) or (not success and not args.get("error")):
        return {"ok": False, "error": "parameter_validation_failed"}
    with state._lock:
        if execution in state.executions:
            return {"ok": False, "error": "execution_not_in_running_state"}
        state.executions[execution] = "completed" if success else "failed"
    return {"ok": True}


def _team_of(authorization: str) -> str:
    """The workspace a bot token was issued for (this fake's tokens are `xoxb-<team>-…`)."""
    token = authorization.removeprefix("Bearer ").removeprefix("xoxe.")
    parts = token.split("-")
    return parts[1] if len(parts) > 2 and parts[0] == "xoxb" else ""


def _user_info(state: FakeSlackState, user: str, team: str) -> dict[str, Any]:
    """users.info's user as the workspace `team` sees them."""
    kind = state.guests.get(user, "")
    return {
        "id": user,
        "team_id": kind if kind[:1] in ("T", "E") else (team if team[:1] in ("T", "E") else "T0TEAM"),
        "is_admin": user in state.admins or f"{team}:{user}" in state.admins,
        "is_restricted": kind == "restricted",
        "is_ultra_restricted": kind == "ultra_restricted",
        "is_stranger": kind == "stranger",
        "tz": state.time_zones.get(user),
        "profile": {
            "email": state.emails[user],
            # A name as people set theirs: the address's name, capitalised ("ana@…" → "Ana").
            "real_name": state.emails[user].split("@")[0].replace(".", " ").title(),
        },
    }


def create_fake_slack(state: FakeSlackState) -> Starlette:
    def answer(method: str, args: dict[str, Any], authorization: str = "") -> dict[str, Any]:
        n = state.next_id()
        if method == "apps.connections.open":
            if state.socket is None or not state.socket.url:
                return {"ok": False, "error": "socket_mode_unavailable"}
            return {"ok": True, "url": state.socket.url}
        if method == "oauth.v2.access":
            return _oauth_answer(args)
        if method == "auth.test":
            return {"ok": True, "user_id": "UBOT", "bot_id": "BBOT", "team_id": "T0TEAM", "user": "ticketbot"}
        if method == "users.info":
            user = str(args.get("user"))
            if user not in state.emails:
                return {"ok": False, "error": "user_not_found"}
            return {"ok": True, "user": _user_info(state, user, _team_of(authorization))}
        if method == "users.lookupByEmail":
            wanted = str(args.get("email") or "").casefold()
            owner = next((u for u, e in state.emails.items() if e.casefold() == wanted), None)
            if owner is None:
                return {"ok": False, "error": "users_not_found"}
            return {"ok": True, "user": {"id": owner, "profile": {"email": state.emails[owner]}}}
        if method == "users.conversations":
            channels = state.memberships.get(str(args.get("user")), [])
            return {"ok": True, "channels": [{"id": c} for c in channels], "response_metadata": {}}
        if method == "usergroups.users.list":
            group = str(args.get("usergroup"))
            if group not in state.usergroups:
                return {"ok": False, "error": "no_such_subteam"}
            return {"ok": True, "users": state.usergroups[group]}
        if method in ("chat.postMessage", "chat.update"):
            ts = str(args.get("ts") or f"{time.time():.6f}")
            if method == "chat.postMessage" and isinstance(args.get("channel"), str):
                # Remembered, as Slack keeps it: a reaction to it (`try --react`) can be read back.
                kept = {
                    "type": "message",
                    "ts": ts,
                    "bot_id": "BBOT",
                    "user": "UBOT",
                    "text": args.get("text") or "",
                }
                blocks = args.get("blocks")
                kept["blocks"] = json.loads(blocks) if isinstance(blocks, str) else blocks or []
                if args.get("thread_ts"):
                    kept["thread_ts"] = str(args["thread_ts"])
                state.messages[(args["channel"], ts)] = kept
            return {"ok": True, "channel": args.get("channel"), "ts": ts, "message": args}
        if method == "conversations.history":  # the channel's own messages: no thread replies
            ts = str(args.get("latest") or "")
            found = state.messages.get((str(args.get("channel")), ts))
            if found and found.get("thread_ts", ts) != ts:
                found = None
            return {"ok": True, "messages": [found] if found else [], "has_more": False}
        if method == "conversations.replies":  # a reply's ts: its thread's parent, then the reply
            channel, ts = str(args.get("channel")), str(args.get("ts") or "")
            found = state.messages.get((channel, ts))
            if found is None:
                return {"ok": False, "error": "thread_not_found"}
            parent = state.messages.get((channel, str(found.get("thread_ts") or ts)))
            thread = [m for m in (parent, found) if m is not None]
            return {"ok": True, "messages": list({m["ts"]: m for m in thread}.values()), "has_more": False}
        if method == "chat.getPermalink":
            ts = str(args.get("message_ts") or "").replace(".", "")
            return {"ok": True, "permalink": f"https://acme.slack.com/archives/{args.get('channel')}/p{ts}"}
        if method in ("functions.completeSuccess", "functions.completeError"):
            return _complete_step(state, method, args)
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": f"{time.time():.6f}"}
        if method in ("views.open", "views.update", "views.push"):
            view = dict(args.get("view") or {})
            view_id = args.get("view_id") or f"V{n:06d}"
            return {"ok": True, "view": {**view, "id": view_id, "hash": f"h{n}"}}
        return {"ok": True}

    async def api(request: Request) -> Response:
        method = request.path_params["method"]
        args = await _args(request)
        call = Call(method, args, request.url.path, authorization=request.headers.get("authorization", ""))
        authorization = call.authorization
        state.calls.append(call)
        fault = state.take_fault(method)
        if fault is not None:
            if fault.status != 200:
                headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
                call.answer = {"ok": False, "error": "ratelimited"}
                return JSONResponse(call.answer, status_code=fault.status, headers=headers)
            call.answer = {"ok": False, "error": fault.error}
            return JSONResponse(call.answer)
        call.answer = answer(method, args, authorization)
        return JSONResponse(call.answer)

    async def response_url(request: Request) -> Response:
        state.calls.append(Call("response", await _args(request), request.url.path))
        return Response("ok")

    async def recorded(request: Request) -> Response:
        """The calls so far, with what each sent (blocks, views) and was answered; `at` is
        time.monotonic() (for a benchmark in another process)."""
        calls = [
            {
                "method": c.method,
                "path": c.path,
                "at": c.at,
                "text": c.args.get("text"),
                "args": c.args,
                "answer": c.answer,
            }
            for c in list(state.calls)
        ]
        return JSONResponse(calls)

    async def users(request: Request) -> Response:
        """Who Slack knows: emails by user id, the workspaces' admins, guests and strangers."""
        data = json.loads(await request.body() or b"{}")
        state.emails.update({str(k): str(v) for k, v in (data.get("emails") or {}).items()})
        state.admins.update(str(u) for u in data.get("admins") or [])
        state.guests.update({str(k): str(v) for k, v in (data.get("guests") or {}).items()})
        return JSONResponse({"ok": True, "emails": state.emails, "admins": sorted(state.admins)})

    async def channels(request: Request) -> Response:
        """Who is in which channel (users.conversations answers it): `{"U0ANA": ["C0TRY"]}`."""
        data = json.loads(await request.body() or b"{}")
        for user, joined in (data if isinstance(data, dict) else {}).items():
            state.memberships[str(user)] = [str(c) for c in joined or []]
        return JSONResponse({"ok": True, "memberships": state.memberships})

    async def socket_send(request: Request) -> Response:
        payload = json.loads(await request.body() or b"{}")
        if state.socket is None:
            return JSONResponse({"error": "Socket Mode is not running"}, status_code=503)
        answer = await state.socket.send(request.path_params["kind"], payload)
        return JSONResponse(answer, status_code=504 if "error" in answer else 200)

    async def reset(request: Request) -> Response:
        state.reset()
        return JSONResponse({"ok": True})

    return Starlette(
        routes=[
            Route("/api/{method}", api, methods=["GET", "POST"]),
            Route("/response/{token}", response_url, methods=["POST"]),
            Route("/commands/{team}/{n}/{token}", response_url, methods=["POST"]),
            Route("/_fake/calls", recorded, methods=["GET"]),
            Route("/_fake/reset", reset, methods=["POST"]),
            Route("/_fake/users", users, methods=["POST"]),
            Route("/_fake/channels", channels, methods=["POST"]),
            Route("/_fake/socket/{kind}", socket_send, methods=["POST"]),
        ]
    )


class FakeSlack:
    def __init__(self, port: int = 0) -> None:
        self.state = FakeSlackState()
        config = uvicorn.Config(
            create_fake_slack(self.state), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=lambda: asyncio.run(self._serve()), daemon=True)
        self.base_url = ""

    async def _serve(self) -> None:
        """The Web API and, in the same loop, the Socket Mode websocket."""
        socket = SocketModeServer()
        await socket.start()
        self.state.socket = socket
        try:
            await self._server.serve()
        finally:
            await socket.stop()

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the fake Slack did not start")
            time.sleep(0.01)
        host, port = self._server.servers[0].sockets[0].getsockname()[:2]
        self.base_url = f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)

    @property
    def api_url(self) -> str:
        return f"{self.base_url}/api/"

    def response_url(self) -> str:
        """Shaped like Slack's (…/commands/<team>/<id>/<token>)."""
        return f"{self.base_url}/commands/T0TEAM/{self.state.next_id()}/{uuid.uuid4().hex[:24]}"


def serve_forever(port: int = 8020, out: Any = print) -> None:
    """Run on its own until Ctrl-C: for trying the bot offline (`ticketbot fake-slack`)."""
    fake = FakeSlack(port)
    fake.start()
    out(f"fake Slack Web API:  SLACK_API_URL={fake.api_url}")
    out(f"recorded calls:      curl {fake.base_url}/_fake/calls")
    out("Socket Mode:         any SLACK_APP_TOKEN (xapp-…) connects `ticketbot socket` here")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        fake.stop()


if __name__ == "__main__":
    import argparse

    parser = argparse.ArgumentParser(description="a fake Slack Web API (and Socket Mode) on loopback")
    parser.add_argument("--port", type=int, default=8020, help="default: 8020")
    serve_forever(parser.parse_args().port)
