"""`ticketbot try "/ticket update PROJ-42 status=done"`: send the bot what Slack would (a slash
command signed with SLACK_SIGNING_SECRET, or the same payload over Socket Mode through the fake
Slack), then print what the bot answered and what it did in Slack: the ack, and each Web API
call and response_url post the fake Slack recorded meanwhile, with its text and blocks.

Distributed mode, as a workspace `--team`: `--install` goes through "Add to Slack" as a browser
would (/slack/install, then /slack/oauth_redirect with the fake Slack's code for that team),
`--home` opens the Home tab, `--connect jira` follows its Connect button and picks a sandbox tool
on the connect page, `--uninstall` sends `app_uninstalled`.

A Workflow Builder step, `--step update_ticket 'ticket=PROJ-42 status="In Progress"'`: the
`function_executed` event Slack sends when a workflow runs the step (its inputs as name=value
words; the workflow is started by --user, as Slack's interactivity input says), then the
step's completion at the fake Slack.

A message shortcut, `--create-from "Checkout fails on Safari"`: a message by --author in
--channel run through "Create ticket" (the form opens, prefilled; `--submit` sends it)."""

from __future__ import annotations

import html
import json
import re
import shlex
import time
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
from slack_sdk.signature import SignatureVerifier

Out = Callable[[str], None]


def slash_payload(
    text: str, channel: str, user: str, response_url: str, team: str = "T0TRY"
) -> dict[str, str]:
    """A slash command's fields, as Slack sends them."""
    return {
        "token": "ticketbot-try",
        "team_id": team,
        "team_domain": team.lower(),
        "channel_id": channel,
        "channel_name": "try",
        "user_id": user,
        "user_name": user.lower(),
        "command": "/ticket",
        "text": text.removeprefix("/ticket").strip(),
        "api_app_id": "A0TRY",
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().int % 10**12}.{uuid.uuid4().hex}",
    }


def signed(body: str, secret: str) -> dict[str, str]:
    stamp = str(int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=stamp, body=body)
    return {"X-Slack-Request-Timestamp": stamp, "X-Slack-Signature": str(signature)}


def readable(text: str) -> str:
    """Slack's escapes (&lt; &gt; &amp;) as a terminal shows the characters."""
    return html.unescape(text)


def ack_text(status: int, body: str) -> str:
    """An ack as a person reads it: the answer's text (not its JSON), or that it follows."""
    if not body:
        return f"ack {status}: (empty: the answer follows)"
    try:
        answer = json.loads(body)
    except ValueError:
        return f"ack {status}: {readable(body)}"
    said = answer.get("text") if isinstance(answer, dict) else None
    return f"ack {status}: {readable(said) if isinstance(said, str) else readable(body)}"


def _texts(blocks: Any) -> list[str]:
    """The words of a message's blocks, one line each (sections, fields, context)."""
    lines: list[str] = []
    for block in blocks if isinstance(blocks, list) else []:
        if not isinstance(block, dict):
            continue
        text = block.get("text")
        if isinstance(text, dict) and text.get("text"):
            lines.append(readable(str(text["text"])))
        for item in block.get("fields") or block.get("elements") or []:
            if isinstance(item, dict) and item.get("type") in ("mrkdwn", "plain_text"):
                lines.append(readable(str(item.get("text")).replace("\n", " ")))
            elif isinstance(item, dict) and item.get("type") == "button":
                url = f" → {item['url']}" if item.get("url") else ""
                lines.append(f"[{(item.get('text') or {}).get('text')}]{url}")
    return lines


def describe(call: dict[str, Any]) -> list[str]:
    args = call.get("args") or {}
    if call.get("method") in ("functions.completeSuccess", "functions.completeError"):
        said = json.dumps(args.get("outputs") or args.get("error"), ensure_ascii=False)
        return [f"{call.get('method')} ({args.get('function_execution_id')}): {said}"]
    where = args.get("channel") or ("response_url" if call.get("method") == "response" else "")
    said = readable(str(args.get("text") or ""))
    head = f"{call.get('method')}{f' ({where})' if where else ''}: {said}".rstrip(": ")
    body = args.get("blocks") or (args.get("view") or {}).get("blocks")
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            body = None
    return [head, *(f"    {line}" for line in _texts(body))]


def _watch(
    http: httpx.Client, fake: str, seen: int, wait: float, out: Out, until: frozenset[str] = frozenset()
) -> list[dict[str, Any]]:
    """Print what the bot did in Slack for `wait` seconds (or until a call of a method in
    `until`); every call seen."""
    new: list[dict[str, Any]] = []
    deadline = time.monotonic() + wait
    while time.monotonic() < deadline and not any(c.get("method") in until for c in new):
        time.sleep(0.25)
        calls = http.get(f"{fake}/_fake/calls").json()
        for call in calls[seen:]:
            new.append(call)
            for line in describe(call):
                out(line)
        seen = len(calls)
    return new


def event_payload(team: str, user: str, kind: str) -> dict[str, Any]:
    inner: dict[str, Any] = {"type": kind, "event_ts": f"{time.time():.6f}"}
    if kind == "app_home_opened":
        inner |= {"user": user, "tab": "home", "channel": "D0TRY"}
    return {
        "token": "ticketbot-try",
        "team_id": team,
        "api_app_id": "A0TRY",
        "event": inner,
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": team, "user_id": "U0BOT", "is_bot": True}],
    }


def step_payload(
    team: str, step: str, inputs: dict[str, Any], execution: str | None = None
) -> dict[str, Any]:
    """A `function_executed` event, in the shape Slack documents: the step's definition, its
    inputs, the execution's ids and a short-lived token for the step."""
    return {
        "token": "ticketbot-try",
        "team_id": team,
        "api_app_id": "A0TRY",
        "event": {
            "type": "function_executed",
            "function": {
                "id": "Fn0TRY",
                "callback_id": step,
                "title": step.replace("_", " ").capitalize(),
                "description": "",
                "type": "app",
                "input_parameters": [],
                "output_parameters": [],
                "app_id": "A0TRY",
                "date_created": int(time.time()),
                "date_updated": int(time.time()),
                "date_deleted": 0,
            },
            "inputs": inputs,
            "function_execution_id": execution or f"Fx{uuid.uuid4().hex[:10].upper()}",
            "workflow_execution_id": f"Wx{uuid.uuid4().hex[:10].upper()}",
            "event_ts": f"{time.time():.6f}",
            "bot_access_token": "xwfp-ticketbot-try",
        },
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": team, "user_id": "U0BOT", "is_bot": True}],
    }


def started_by(user: str) -> dict[str, Any]:
    """Slack's `slack#/types/interactivity` input, as a step gets it when a person starts the
    workflow (a link trigger, a shortcut, a button): the one identity a step can prove."""
    return {
        "interactivity": {
            "interactor": {"id": user, "secret": uuid.uuid4().hex},
            "interactivity_pointer": f"{int(time.time())}.{uuid.uuid4().int % 10**13}.{uuid.uuid4().hex}",
        }
    }


STEP_ENDS = frozenset({"functions.completeSuccess", "functions.completeError"})


def step_inputs(words: str, user: str) -> dict[str, Any]:
    """`ticket=PROJ-42 status="In Progress"` as a step's inputs (quotes as a shell reads them),
    in a workflow the user trying it started (Slack's interactivity input)."""
    inputs: dict[str, Any] = started_by(user)
    for word in shlex.split(words):
        name, equals, value = word.partition("=")
        if not equals or not name:
            raise ValueError(f"{word!r}: give each input as name=value (ticket=PROJ-42)")
        inputs[name] = value
    return inputs


def try_step(
    step: str,
    words: str,
    *,
    team: str,
    user: str,
    bot_url: str,
    fake_url: str,
    secret: str | None,
    socket: bool = False,
    wait: float = 5.0,
    out: Out = print,
) -> int:
    """A workflow running `step` with these inputs; what the bot did (its completion)."""
    fake = fake_url.rstrip("/")
    try:
        payload = step_payload(team, step, step_inputs(words, user))
    except ValueError as exc:
        out(f"✗ {exc}")
        return 2
    with httpx.Client(timeout=10) as http:
        seen = len(http.get(f"{fake}/_fake/calls").json())
        if socket:
            answer = http.post(f"{fake}/_fake/socket/events_api", json=payload)
            out(f"acknowledged over Socket Mode ({answer.status_code}): {answer.text}")
        elif not secret:
            out("✗ SLACK_SIGNING_SECRET is not set: the bot refuses what is not signed with it")
            return 1
        elif not _post_signed(http, bot_url, json.dumps(payload), secret, "application/json", out):
            return 1
        calls = _watch(http, fake, seen, wait, out, until=STEP_ENDS)
    return 0 if any(c.get("method") == "functions.completeSuccess" for c in calls) else 1


def _post_signed(http: httpx.Client, bot_url: str, body: str, secret: str, kind: str, out: Out) -> bool:
    headers = {**signed(body, secret), "Content-Type": kind}
    try:
        answer = http.post(f"{bot_url.rstrip('/')}/slack/events", content=body, headers=headers)
    except httpx.HTTPError as exc:
        out(f"✗ the bot at {bot_url} did not answer ({type(exc).__name__}): is it serving?")
        return False
    out(ack_text(answer.status_code, answer.text))
    return True


def try_install(team: str, *, bot_url: str, out: Out = print) -> int:
    """ "Add to Slack" for `team`, as a browser: the install page sets the state cookie, Slack's
    redirect (the fake Slack's code names the team) brings it back with a code."""
    base = bot_url.rstrip("/")
    with httpx.Client(timeout=10) as http:
        try:
            page = http.get(f"{base}/slack/install")
        except httpx.HTTPError as exc:
            out(f"✗ the bot at {bot_url} did not answer ({type(exc).__name__}): is it serving?")
            return 1
        found = re.search(r"[?&;]state=([^&\"]+)", page.text)
        if page.status_code != 200 or found is None:
            out(f"✗ {base}/slack/install answered {page.status_code}: is SLACK_CLIENT_ID set?")
            return 1
        # Bolt's state cookie is marked Secure: a browser sends it back over https only, so on
        # loopback http it is handed back by hand.
        cookie = "; ".join(f"{name}={value}" for name, value in page.cookies.items())
        done = http.get(
            f"{base}/slack/oauth_redirect",
            params={"code": team, "state": found.group(1)},
            headers={"Cookie": cookie},
        )
        ok = done.status_code in (200, 302)
        out(f"{'✓' if ok else '✗'} {team}: {done.status_code} from /slack/oauth_redirect")
        return 0 if ok else 1


def try_event(
    kind: str,
    *,
    team: str,
    user: str,
    bot_url: str,
    fake_url: str,
    secret: str | None,
    wait: float = 3.0,
    out: Out = print,
) -> list[dict[str, Any]] | None:
    """A signed event (app_home_opened, app_uninstalled) from `team`; what the bot did."""
    fake = fake_url.rstrip("/")
    if not secret:
        out("✗ SLACK_SIGNING_SECRET is not set: the bot refuses what is not signed with it")
        return None
    with httpx.Client(timeout=10) as http:
        seen = len(http.get(f"{fake}/_fake/calls").json())
        body = json.dumps(event_payload(team, user, kind))
        if not _post_signed(http, bot_url, body, secret, "application/json", out):
            return None
        return _watch(http, fake, seen, wait, out)


def try_connect(profile: str, **event: Any) -> int:
    """Open the Home tab, follow its Connect button, pick `profile` on the sandbox's page."""
    out: Out = event.get("out", print)
    calls = try_event("app_home_opened", **event)
    if calls is None:
        return 1
    urls = [
        element["url"]
        for call in calls
        if call.get("method") == "views.publish"
        for block in ((call.get("args") or {}).get("view") or {}).get("blocks") or []
        for element in block.get("elements") or []
        if isinstance(element, dict) and element.get("action_id") == "connect_tracker"
    ]
    if not urls:
        out("✗ no Connect button: is the workspace installed, and --user one of its admins?")
        return 1
    link_token = parse_qs(urlsplit(urls[-1]).query).get("link_token", [""])[0]
    page_url = urls[-1].split("?", 1)[0]
    fake = str(event["fake_url"]).rstrip("/")
    with httpx.Client(timeout=10) as http:
        seen = len(http.get(f"{fake}/_fake/calls").json())
        page = http.post(page_url, data={"link_token": link_token, "profile": profile})
        out(f"{'✓' if page.status_code == 200 else '✗'} connect page: {page.status_code}")
        if page.status_code == 200:  # the tool's events reach the bot: its DM, the Home tab again
            _watch(http, fake, seen, float(event.get("wait", 3.0)), out)
    return 0 if page.status_code == 200 else 1


def try_command(
    text: str,
    *,
    bot_url: str,
    fake_url: str,
    secret: str | None,
    channel: str = "C0TRY",
    user: str = "U0ANA",
    team: str = "T0TRY",
    socket: bool = False,
    wait: float = 5.0,
    out: Out = print,
) -> int:
    fake = fake_url.rstrip("/")
    with httpx.Client(timeout=10) as http:
        try:
            seen = len(http.get(f"{fake}/_fake/calls").json())
        except httpx.HTTPError:
            out(f"✗ no fake Slack at {fake}: start one with `ticketbot fake-slack`")
            return 1
        response_url = f"{fake}/commands/{team}/{uuid.uuid4().int % 10**6}/{uuid.uuid4().hex[:24]}"
        payload = slash_payload(text, channel, user, response_url, team)
        if socket:
            answer = http.post(f"{fake}/_fake/socket/slash_commands", json=payload)
            out(f"acknowledged over Socket Mode ({answer.status_code}): {answer.text}")
        else:
            if not secret:
                out("✗ SLACK_SIGNING_SECRET is not set: the bot refuses what is not signed with it")
                return 1
            form = "application/x-www-form-urlencoded"
            if not _post_signed(http, bot_url, urlencode(payload), secret, form, out):
                return 1
        _watch(http, fake, seen, wait, out)
    return 0


# What a person does to what the bot already did: from its calls so far, the signed request to
# send (its body and content type), or why there is nothing to do.
Made = tuple[str, str] | str


def _act_on_calls(
    fake_url: str,
    bot_url: str,
    secret: str | None,
    make: Callable[[list[dict[str, Any]]], Made],
    wait: float,
    out: Out,
) -> int:
    """Read the fake Slack's calls, send what `make` makes of them signed, show what followed."""
    fake = fake_url.rstrip("/")
    if not secret:
        out("✗ SLACK_SIGNING_SECRET is not set: the bot refuses what is not signed with it")
        return 1
    with httpx.Client(timeout=10) as http:
        calls = http.get(f"{fake}/_fake/calls").json()
        made = make(calls)
        if isinstance(made, str):
            out(made)
            return 1
        body, kind = made
        if not _post_signed(http, bot_url, body, secret, kind, out):
            return 1
        _watch(http, fake, len(calls), wait, out)
    return 0


def _interaction(payload: dict[str, Any]) -> Made:
    return urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded"


_POSTED = ("chat.postMessage", "chat.update", "chat.postEphemeral", "response")


def _controls(blocks: Any) -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    """(label, element, option) of every button and every option of every static select."""
    found: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
    for block in blocks if isinstance(blocks, list) else []:
        elements = [*(block.get("elements") or []), *([block["accessory"]] if block.get("accessory") else [])]
        for element in elements:
            element = {**element, "block_id": block.get("block_id", "")}
            if element.get("type") == "button":
                found.append(((element.get("text") or {}).get("text", ""), element, None))
            for option in element.get("options") or []:
                found.append(((option.get("text") or {}).get("text", ""), element, option))
    return found


def click_payload(
    calls: list[dict[str, Any]], label: str, *, channel: str, user: str, team: str, response_url: str
) -> dict[str, Any] | None:
    """The `block_actions` Slack sends when `user` clicks the newest button (or picks the newest
    select option) labelled `label` in what the bot posted; None when nothing carries it."""
    for call in reversed(calls):
        if call.get("method") not in _POSTED:
            continue
        args = call.get("args") or {}
        blocks = json.loads(args["blocks"]) if isinstance(args.get("blocks"), str) else args.get("blocks")
        for text, element, option in _controls(blocks):
            if text.casefold() != label.casefold():
                continue
            action: dict[str, Any] = {
                "action_id": element.get("action_id", ""),
                "block_id": element["block_id"],
                "type": element.get("type"),
                "action_ts": f"{time.time():.6f}",
            }
            if option is not None:
                action["selected_option"] = option
            elif "value" in element:
                action["value"] = element["value"]
            where = args.get("channel") or channel
            ts = str((call.get("answer") or {}).get("ts") or args.get("ts") or f"{time.time():.6f}")
            return {
                "type": "block_actions",
                "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
                "api_app_id": "A0TRY",
                "token": "ticketbot-try",
                "container": {
                    "type": "message",
                    "message_ts": ts,
                    "channel_id": where,
                    "is_ephemeral": False,
                },
                "trigger_id": f"{int(time.time())}.{uuid.uuid4().int % 10**12}",
                "team": {"id": team, "domain": team.lower()},
                "channel": {"id": where, "name": "try"},
                "message": {
                    "type": "message",
                    "ts": ts,
                    "text": args.get("text") or "",
                    "blocks": blocks or [],
                },
                "response_url": response_url,
                "actions": [action],
            }
    return None


def try_click(
    label: str,
    *,
    team: str,
    user: str,
    channel: str,
    bot_url: str,
    fake_url: str,
    secret: str | None,
    wait: float = 5.0,
    out: Out = print,
) -> int:
    """Click what the bot posted last with this label (Undo, Apply, Cancel, Retry, Show card, or a
    status menu's option) as `user`, and show what followed."""
    fake = fake_url.rstrip("/")
    response_url = f"{fake}/commands/{team}/{uuid.uuid4().int % 10**6}/{uuid.uuid4().hex[:24]}"

    def make(calls: list[dict[str, Any]]) -> Made:
        where = {"channel": channel, "user": user, "team": team, "response_url": response_url}
        payload = click_payload(calls, label, **where)
        if payload is None:
            offered = {t for c in calls if c.get("method") in _POSTED for t, _, _ in _controls(_blocks_of(c))}
            listed = ", ".join(sorted(offered)) or "nothing to click"
            return f"✗ nothing the bot posted has {label!r}; it offers: {listed}"
        out(f"clicking {label!r} ({payload['actions'][0]['action_id']})")
        return _interaction(payload)

    return _act_on_calls(fake_url, bot_url, secret, make, wait, out)


def _blocks_of(call: dict[str, Any]) -> Any:
    blocks = (call.get("args") or {}).get("blocks")
    return json.loads(blocks) if isinstance(blocks, str) else blocks


def try_react(
    emoji: str,
    *,
    team: str,
    user: str,
    channel: str,
    bot_url: str,
    fake_url: str,
    secret: str | None,
    wait: float = 5.0,
    out: Out = print,
) -> int:
    """React with `emoji` to the newest message the bot posted in `channel` (`reaction_added`)."""

    def make(calls: list[dict[str, Any]]) -> Made:
        posted = [
            c
            for c in calls
            if c.get("method") == "chat.postMessage"
            and (c.get("args") or {}).get("channel") == channel
            and (c.get("answer") or {}).get("ts")
        ]
        if not posted:
            return f"✗ the bot has posted nothing in {channel} to react to: try a command there first"
        ts = str(posted[-1]["answer"]["ts"])
        item = {"type": "message", "channel": channel, "ts": ts}
        inner = {"type": "reaction_added", "user": user, "reaction": emoji.strip(":"), "item": item}
        inner |= {"item_user": "UBOT", "event_ts": f"{time.time():.6f}"}
        out(f"reacting :{emoji.strip(':')}: to the message {ts} in {channel}")
        return json.dumps({**event_payload(team, user, "reaction_added"), "event": inner}), "application/json"

    return _act_on_calls(fake_url, bot_url, secret, make, wait, out)


def try_reply(
    text: str,
    *,
    team: str,
    user: str,
    channel: str,
    bot_url: str,
    fake_url: str,
    secret: str | None,
    wait: float = 5.0,
    out: Out = print,
) -> int:
    """Reply with `text` in the newest thread of `channel` the bot synced with a ticket (the
    `message` event Slack sends for a thread reply)."""

    def make(calls: list[dict[str, Any]]) -> Made:
        synced = [
            c
            for c in calls
            if c.get("method") == "chat.postMessage"
            and (c.get("args") or {}).get("channel") == channel
            and (c.get("args") or {}).get("thread_ts")
            and str((c.get("args") or {}).get("text") or "").startswith("This thread is synced with")
        ]
        if not synced:
            return f"✗ no thread in {channel} is synced: try --click 'Sync thread' on a card first"
        thread = str(synced[-1]["args"]["thread_ts"])
        inner = {"type": "message", "channel": channel, "user": user, "text": text, "channel_type": "channel"}
        inner |= {"ts": f"{time.time():.6f}", "thread_ts": thread, "event_ts": f"{time.time():.6f}"}
        out(f"replying in the thread {thread} of {channel}")
        return json.dumps({**event_payload(team, user, "message"), "event": inner}), "application/json"

    return _act_on_calls(fake_url, bot_url, secret, make, wait, out)


def shortcut_payload(
    callback_id: str, text: str, *, team: str, user: str, channel: str, author: str
) -> dict[str, Any]:
    """The `message_action` Slack sends when `user` runs a message shortcut on a message `author`
    wrote in `channel` (a new message: its ts is now)."""
    ts = f"{time.time():.6f}"
    return {
        "type": "message_action",
        "callback_id": callback_id,
        "team": {"id": team, "domain": team.lower()},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
        "channel": {"id": channel, "name": "try"},
        "message": {"type": "message", "user": author, "text": text, "ts": ts},
        "message_ts": ts,
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().int % 10**12}",
        "response_url": "",
        "action_ts": ts,
        "token": "ticketbot-try",
        "is_enterprise_install": False,
    }


def try_create_from(
    text: str,
    *,
    author: str,
    team: str,
    user: str,
    channel: str,
    bot_url: str,
    fake_url: str,
    secret: str | None,
    wait: float = 5.0,
    out: Out = print,
) -> int:
    """Run "Create ticket" on a message `author` wrote (`text`): the form opens, prefilled."""

    def make(calls: list[dict[str, Any]]) -> Made:
        payload = shortcut_payload(
            "create_ticket", text, team=team, user=user, channel=channel, author=author
        )
        out(f"running “Create ticket” on {author}'s message in {channel}")
        return _interaction(payload)

    return _act_on_calls(fake_url, bot_url, secret, make, wait, out)


def try_connect_own(
    profile: str, sign_in_as: str, *, projects: str = "", channel: str = "C0TRY", **event: Any
) -> int:
    """`/ticket connect` as --user, then its button followed: signed in to the sandbox's `profile`
    as the tool's user `sign_in_as` (with only `projects`, when given)."""
    out: Out = event.get("out", print)
    fake = str(event["fake_url"]).rstrip("/")
    with httpx.Client(timeout=10) as http:
        seen = len(http.get(f"{fake}/_fake/calls").json())
    said = try_command(
        "/ticket connect",
        bot_url=event["bot_url"],
        fake_url=fake,
        secret=event.get("secret"),
        channel=channel,
        user=event["user"],
        team=event["team"],
        wait=float(event.get("wait", 3.0)),
        out=out,
    )
    with httpx.Client(timeout=10) as http:
        calls = http.get(f"{fake}/_fake/calls").json()[seen:]
        urls = [
            element["url"]
            for call in calls
            for block in _blocks_of(call) or []
            for element in block.get("elements") or []
            if isinstance(element, dict) and element.get("url")
        ]
        if said != 0 or not urls:
            out("✗ no connect button: is the workspace installed and its tool connected (--connect)?")
            return 1
        link_token = parse_qs(urlsplit(urls[-1]).query).get("link_token", [""])[0]
        seen = len(http.get(f"{fake}/_fake/calls").json())
        form = {"link_token": link_token, "profile": profile, "user": sign_in_as, "projects": projects}
        page = http.post(urls[-1].split("?", 1)[0], data=form)
        out(f"{'✓' if page.status_code == 200 else '✗'} signed in as {sign_in_as}: {page.status_code}")
        if page.status_code == 200:
            _watch(http, fake, seen, float(event.get("wait", 3.0)), out)
    return 0 if page.status_code == 200 else 1


_OPENED = ("views.open", "views.push", "views.update")


def _initial(element: dict[str, Any]) -> dict[str, Any]:
    """What Slack sends for an input the person left as the form showed it."""
    kind = element.get("type")
    if kind == "plain_text_input":
        return {"value": element.get("initial_value")}
    if kind in ("static_select", "external_select"):
        return {"selected_option": element.get("initial_option")}
    if kind in ("multi_static_select", "multi_external_select"):
        return {"selected_options": element.get("initial_options") or []}
    if kind == "users_select":
        return {"selected_user": element.get("initial_user")}
    if kind == "multi_users_select":
        return {"selected_users": element.get("initial_users") or []}
    if kind == "datepicker":
        return {"selected_date": element.get("initial_date")}
    if kind in ("conversations_select", "channels_select"):
        return {"selected_conversation": element.get("initial_conversation")}
    if kind in ("multi_conversations_select", "multi_channels_select"):
        return {"selected_conversations": element.get("initial_conversations") or []}
    return {}


def _typed(element: dict[str, Any], text: str) -> dict[str, Any]:
    """What Slack sends for an input the person set to `text` (an option by its label or value)."""
    kind = str(element.get("type"))
    options = [o for group in element.get("option_groups") or [] for o in group.get("options") or []]
    options += element.get("options") or []

    def option(word: str) -> dict[str, Any]:
        found = [
            o
            for o in options
            if word.casefold()
            in (str(o.get("value")).casefold(), str((o.get("text") or {}).get("text")).casefold())
        ]
        return found[0] if found else {"text": {"type": "plain_text", "text": word}, "value": word}

    words = [w.strip() for w in text.split(",") if w.strip()]
    if kind in ("static_select", "external_select"):
        return {"selected_option": option(text)}
    if kind in ("multi_static_select", "multi_external_select"):
        return {"selected_options": [option(w) for w in words]}
    if kind == "users_select":
        return {"selected_user": text}
    if kind == "multi_users_select":
        return {"selected_users": words}
    if kind == "datepicker":
        return {"selected_date": text}
    if kind in ("conversations_select", "channels_select"):
        return {"selected_conversation": text}
    if kind in ("multi_conversations_select", "multi_channels_select"):
        return {"selected_conversations": words}
    return {"value": text}


def submit_payload(calls: list[dict[str, Any]], words: str, *, user: str, team: str) -> dict[str, Any] | None:
    """The `view_submission` Slack sends when `user` submits the newest form the bot opened, with
    `words` (`label=value` or `block_id=value`, quotes as a shell reads them) changed and every
    other input as the form showed it; None when the bot opened no form."""
    opened = [c for c in calls if c.get("method") in _OPENED]
    if not opened:
        return None
    call = opened[-1]
    view = dict((call.get("args") or {}).get("view") or {})
    if isinstance(view, str):
        view = json.loads(view)
    wanted: dict[str, str] = {}
    for word in shlex.split(words):
        name, _, value = word.partition("=")
        wanted[name.casefold()] = value
    values: dict[str, Any] = {}
    for block in view.get("blocks") or []:
        element = block.get("element")
        if block.get("type") != "input" or not isinstance(element, dict):
            continue
        label = str((block.get("label") or {}).get("text") or "").casefold()
        given = wanted.get(str(block.get("block_id")).casefold(), wanted.get(label))
        state = _typed(element, given) if given is not None else _initial(element)
        values[str(block.get("block_id"))] = {
            str(element.get("action_id")): {"type": element.get("type"), **state}
        }
    answer_view = (call.get("answer") or {}).get("view") or {}
    return {
        "type": "view_submission",
        "team": {"id": team, "domain": team.lower()},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
        "api_app_id": "A0TRY",
        "token": "ticketbot-try",
        "trigger_id": f"{int(time.time())}.{uuid.uuid4().int % 10**12}",
        "view": {
            **view,
            "id": answer_view.get("id") or "V0TRY",
            "team_id": team,
            "hash": answer_view.get("hash") or "h0",
            "state": {"values": values},
        },
        "response_urls": [],
        "is_enterprise_install": False,
    }


def try_submit(
    words: str,
    *,
    team: str,
    user: str,
    bot_url: str,
    fake_url: str,
    secret: str | None,
    wait: float = 5.0,
    out: Out = print,
) -> int:
    """Submit the newest form the bot opened (the edit form, the subscribe form, a comment…) as
    `user` would, with `words` changed; print the answer (a form's errors) and what followed."""

    def make(calls: list[dict[str, Any]]) -> Made:
        payload = submit_payload(calls, words, user=user, team=team)
        if payload is None:
            return '✗ the bot has opened no form: try `ticketbot try "/ticket PROJ-42"` first'
        out(f"submitting the form {payload['view'].get('callback_id')!r}")
        return _interaction(payload)

    return _act_on_calls(fake_url, bot_url, secret, make, wait, out)
