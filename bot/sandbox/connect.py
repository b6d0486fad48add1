"""The sandbox's connection flow (connection-flow.md, authentication.md): `POST /link-token`,
and a connect page of its own standing in for Truto Link's hosted one.

- `POST /link-token` with `tenant_id` (a new account) or `integrated_account_id` (a reconnect,
  `persist_previous_context` optional) answers `{"link_token": …}`. A token is single use.
- `GET /connect-account?link_token=…`: a page to pick one of the three tool profiles; `POST` to
  it creates the integrated account (a fresh copy of that profile's tickets and lists, its own
  id) and sends `integrated_account:created` then `:active` to the registered webhooks; a
  reconnect sends `:updated` then `:active` for the same account.
- `POST /_sandbox/account-events` (`{"account": id, "event": "authentication_error",
  "last_error": "…"}` or `"deleted"`) sends what the tool's side would make happen.
"""

from __future__ import annotations

import dataclasses
import html
import secrets
import uuid
from typing import Any
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from bot.sandbox.envelopes import envelope
from bot.sandbox.profiles import Profile, build_profiles

Obj = dict[str, Any]
FAILURES = ("authentication_error", "validation_error", "post_install_error")


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    text = (
        "<!doctype html><html><head><meta charset='utf-8'><title>"
        f"{html.escape(title)}</title></head><body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(text, status_code=status)


def connect_routes(state: Any, authorised: Any) -> list[Route]:
    """`state`: the SandboxState (its profiles, webhooks and link tokens)."""

    def payload(profile: Profile, status: str = "active", last_error: str | None = None) -> Obj:
        record = profile.account_record()
        record["status"] = status
        if last_error:
            record["last_error"] = last_error
        return record

    async def link_token(request: Request) -> Response:
        if not authorised(request):
            return envelope(401, "Invalid API token")
        try:
            body = await request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return envelope(400, "the body must be a JSON object")
        tenant, account = body.get("tenant_id"), body.get("integrated_account_id")
        if account is not None:
            if account not in state.profiles:
                return envelope(404, f"Integrated account {account} not found")
        elif not isinstance(tenant, str) or not tenant:
            return envelope(400, "tenant_id is required")
        token = secrets.token_urlsafe(24)
        state.link_tokens[token] = {"tenant_id": tenant, "integrated_account_id": account}
        return JSONResponse({"link_token": token})

    def _choices() -> str:
        rows = "".join(
            f"<label><input type='radio' name='profile' value='{p.name}'> {html.escape(p.tool)}</label><br>"
            for p in build_profiles().values()
        )
        return rows

    async def connect_page(request: Request) -> Response:
        if request.method == "GET":
            token = request.query_params.get("link_token", "")
            grant = state.link_tokens.get(token)
            if grant is None:
                return _page("This link has expired", "<p>Ask for a new one in Slack.</p>", 404)
            if grant["integrated_account_id"]:
                form = "<input type='hidden' name='profile' value=''>"
            else:
                form = _choices()
            if ":" in str(grant["tenant_id"] or ""):  # a person's own account
                form += (
                    "<p><label>Sign in as (username or email) <input name='user'></label></p>"
                    "<p><label>Projects you may use (comma separated; empty: all) "
                    "<input name='projects'></label></p>"
                )
            return _page(
                "Connect your tracker",
                "<form method='post'>"
                f"<input type='hidden' name='link_token' value='{html.escape(token)}'>{form}"
                "<button type='submit'>Connect</button></form>",
            )
        submitted = {k: v[0] for k, v in parse_qs((await request.body()).decode(errors="replace")).items()}
        grant = state.link_tokens.pop(str(submitted.get("link_token", "")), None)
        if grant is None:
            return _page("This link has expired", "<p>Ask for a new one in Slack.</p>", 404)
        if grant["integrated_account_id"]:
            profile = state.profiles[grant["integrated_account_id"]]
            profile.status = "active"
            state.webhooks.emit_account("integrated_account:updated", payload(profile))
            state.webhooks.emit_account("integrated_account:active", payload(profile))
            return _page("Reconnected", f"<p>{html.escape(profile.tool)} is connected again.</p>")
        by_name = {p.name: p for p in build_profiles().values()}
        chosen = by_name.get(str(submitted.get("profile", "")))
        if chosen is None:
            return _page("Pick a tool", "<p>Go back and pick one of the tools.</p>", 400)
        if ":" in grant["tenant_id"]:  # `<team>:<user>`: a person's own account of the team's tool
            return personal(grant["tenant_id"], chosen, submitted)
        profile = dataclasses.replace(
            chosen,
            integrated_account_id=f"{chosen.integrated_account_id}-{uuid.uuid4().hex[:8]}",
            tenant_id=grant["tenant_id"],
        )
        state.profiles[profile.integrated_account_id] = profile
        state.webhooks.emit_account("integrated_account:created", payload(profile))
        state.webhooks.emit_account("integrated_account:active", payload(profile))
        return _page("Connected", f"<p>{html.escape(profile.tool)} is connected. Go back to Slack.</p>")

    def personal(tenant: str, chosen: Profile, submitted: dict[str, str]) -> Response:
        """A person signs in to the tool the workspace uses: their account shares its tickets,
        acts as the user they sign in as, and sees the projects they may (all when none given)."""
        team = tenant.split(":", 1)[0]
        shared = next(
            (
                p
                for p in state.profiles.values()
                if p.name == chosen.name and p.tenant_id == team and p.acting_user is None
            ),
            state.profiles.get(chosen.integrated_account_id),
        )
        if shared is None:
            return _page("Nothing to sign in to", "<p>The workspace has not connected this tool.</p>", 400)
        wanted = str(submitted.get("user", "")).casefold()

        def known_as(user: Obj) -> set[str]:
            emails = {
                str(e.get("email", "")).casefold() for e in user.get("emails") or [] if isinstance(e, dict)
            }
            return {str(user.get("username", "")).casefold(), *emails}

        user = next((u for u in shared.lists.get("users", []) if wanted and wanted in known_as(u)), None)
        if user is None:
            return _page(
                "Who are you?", "<p>Sign in as one of the tool's users (username or email).</p>", 400
            )
        projects = frozenset(p.strip() for p in str(submitted.get("projects", "")).split(",") if p.strip())
        profile = dataclasses.replace(
            shared,
            integrated_account_id=f"{shared.name}-{uuid.uuid4().hex[:12]}",
            tenant_id=tenant,
            acting_user={"id": user["id"], "name": user.get("name") or user.get("username")},
            projects=projects or None,
            read_only=str(submitted.get("read_only", "")).lower() in ("1", "true", "on", "yes"),
        )
        state.profiles[profile.integrated_account_id] = profile
        state.webhooks.emit_account("integrated_account:created", payload(profile))
        state.webhooks.emit_account("integrated_account:active", payload(profile))
        return _page(
            "Connected", f"<p>You are signed in to {html.escape(profile.tool)}. Go back to Slack.</p>"
        )

    async def account_events(request: Request) -> Response:
        body = await request.json()
        profile = state.profiles.get(body.get("account"))
        if profile is None:
            return JSONResponse({"ok": False, "error": "no such account"}, status_code=404)
        event = str(body.get("event"))
        if event == "deleted":
            del state.profiles[profile.integrated_account_id]
            state.webhooks.emit_account("integrated_account:deleted", {"id": profile.integrated_account_id})
        elif event in FAILURES:
            profile.status = event
            state.webhooks.emit_account(
                f"integrated_account:{event}", payload(profile, event, str(body.get("last_error") or ""))
            )
        else:
            return JSONResponse({"ok": False, "error": f"unknown event {event}"}, status_code=400)
        return JSONResponse({"ok": True})

    return [
        Route("/link-token", link_token, methods=["POST"]),
        Route("/connect-account", connect_page, methods=["GET", "POST"]),
        Route("/_sandbox/account-events", account_events, methods=["POST"]),
    ]
