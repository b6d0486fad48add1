"""`ticketbot serve` answers signed requests over real HTTP; `ticketbot socket` connects with
the app token. Both run as real processes against the sandbox and the fake Slack API."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from bot.sandbox import SANDBOX_TOKEN, SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from tests.redis_server import free_port
from tests.scenarios.payloads import SIGNING_SECRET, sign, slash_command

pytestmark = pytest.mark.process


def bot_env(sandbox: SandboxServer, slack: FakeSlack, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "TRUTO_", "TICKETBOT_"))}
    env.pop("REDIS_URL", None)
    env.update(
        SLACK_BOT_TOKEN="xoxb-serve-test",
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        TRUTO_BASE_URL=sandbox.base_url,
        TRUTO_API_TOKEN=SANDBOX_TOKEN,
        TRUTO_INTEGRATED_ACCOUNT_ID="sandbox-jira",
        **extra,
    )
    return env


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    server = FakeSlack()
    server.start()
    yield server
    server.stop()


def wait_until(check: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():  # type: ignore[operator]
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_serve_answers_health_and_signed_commands(sandbox: SandboxServer, slack: FakeSlack) -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1"],
        env=bot_env(sandbox, slack, PORT=str(port)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200)
        body = slash_command("PROJ-42 status=done", "C0ANY", slack.response_url())
        refused = httpx.post(f"{base}/slack/events", content=body, headers=sign(body, "not-the-secret"))
        assert refused.status_code == 401
        headers = {**sign(body), "Content-Type": "application/x-www-form-urlencoded"}
        accepted = httpx.post(f"{base}/slack/events", content=body, headers=headers)
        assert accepted.status_code == 200
        wait_until(lambda: slack.state.named("chat.postMessage"))
        assert slack.state.named("chat.postMessage")[0].args["channel"] == "C0ANY"
        assert sandbox.state.calls("PATCH")[0].body == {"status": {"id": "js4", "name": "Done"}}
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert SIGNING_SECRET not in err.decode() and "xoxb-serve-test" not in err.decode()


@contextmanager
def socket_bot(sandbox: SandboxServer, slack: FakeSlack, app_token: str) -> Iterator[None]:
    """`ticketbot socket` running against the fakes, killed afterwards."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "socket"],
        env=bot_env(sandbox, slack, SLACK_APP_TOKEN=app_token),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        process.kill()
        process.wait(timeout=10)


def connected(slack: FakeSlack) -> bool:
    return slack.state.socket is not None and slack.state.socket.connected.is_set()


def test_socket_mode_connects_with_the_app_token(sandbox: SandboxServer, slack: FakeSlack) -> None:
    with socket_bot(sandbox, slack, "xapp-1-socket-test"):
        wait_until(lambda: slack.state.named("apps.connections.open"))
        assert slack.state.named("apps.connections.open")[0].authorization == "Bearer xapp-1-socket-test"


def test_socket_mode_needs_the_app_token(sandbox: SandboxServer, slack: FakeSlack) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "socket"],
        env=bot_env(sandbox, slack),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 2
    assert "SLACK_APP_TOKEN: not set" in result.stderr


def test_serve_logs_one_json_object_per_line_access_lines_included(
    sandbox: SandboxServer, slack: FakeSlack
) -> None:
    import json

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1"],
        env=bot_env(sandbox, slack, PORT=str(port), LOG_LEVEL="INFO"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200)
    finally:
        process.terminate()
        out, err = process.communicate(timeout=10)
    lines = [line for line in out.decode().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    access = [r for r in records if r["logger"] == "uvicorn.access"]
    assert any("GET /healthz" in r["msg"] for r in access)  # uvicorn's access lines, as JSON
    assert any(r["logger"] == "uvicorn.error" and "Uvicorn running" in r["msg"] for r in records)
    assert err.decode().strip() == ""


def test_socket_mode_runs_offline_against_the_fake_slack(sandbox: SandboxServer, slack: FakeSlack) -> None:
    """`ticketbot socket` connects to the fake's websocket; a slash command sent over it is
    acknowledged and applied, and its card posted, with no network beyond loopback."""
    from bot.cli.try_it import try_command

    with socket_bot(sandbox, slack, "xapp-1-offline"):
        wait_until(lambda: connected(slack))
        said: list[str] = []
        code = try_command(
            "/ticket PROJ-42 status=done",
            bot_url="",
            fake_url=slack.base_url,
            secret=None,
            channel="C0ANY",
            socket=True,
            wait=0.5,
            out=said.append,
        )
        assert code == 0 and said[0].startswith("acknowledged over Socket Mode (200)")
        wait_until(lambda: slack.state.named("chat.postMessage"))
        assert sandbox.state.calls("PATCH")[0].body == {"status": {"id": "js4", "name": "Done"}}


def test_a_workflow_step_runs_over_socket_mode(sandbox: SandboxServer, slack: FakeSlack) -> None:
    """A function_executed event over Socket Mode (`ticketbot try --step --socket`): the update
    applied, the step completed with its outputs."""
    from bot.cli.try_it import try_step

    with socket_bot(sandbox, slack, "xapp-1-steps"):
        wait_until(lambda: connected(slack))
        said: list[str] = []
        code = try_step(
            "update_ticket",
            "ticket=PROJ-42 status=Done",
            team="T0TRY",
            user="U0ANA",
            bot_url="",
            fake_url=slack.base_url,
            secret=None,
            socket=True,
            wait=3.0,
            out=said.append,
        )
        assert code == 0 and said[0].startswith("acknowledged over Socket Mode (200)")
        assert sandbox.state.calls("PATCH")[0].body == {"status": {"id": "js4", "name": "Done"}}
        [done] = slack.state.named("functions.completeSuccess")
        assert done.args["outputs"]["status"] == "Done"


def test_ticketbot_try_sends_a_signed_command_and_shows_what_the_bot_did(
    sandbox: SandboxServer, slack: FakeSlack
) -> None:
    from bot.cli.try_it import try_command

    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1"],
        env=bot_env(sandbox, slack, PORT=str(port)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200)
        said: list[str] = []
        code = try_command(
            "/ticket update PROJ-42 priority=high",
            bot_url=base,
            fake_url=slack.base_url,
            secret=SIGNING_SECRET,
            wait=3.0,
            out=said.append,
        )
        assert code == 0 and said[0] == "ack 200: (empty: the answer follows)"
        posted = [line for line in said if line.startswith("chat.postMessage (C0TRY)")]
        assert posted and any("priority Medium → High" in line for line in said)
        # A Workflow Builder step, tried the same way: the step completes at the fake Slack.
        from bot.cli.try_it import try_step

        said.clear()
        code = try_step(
            "update_ticket",
            'ticket=PROJ-42 status="In Progress" comment="From the try"',
            team="T0TRY",
            user="U0ANA",
            bot_url=base,
            fake_url=slack.base_url,
            secret=SIGNING_SECRET,
            wait=15.0,  # ends at the step's completion
            out=said.append,
        )
        assert code == 0 and said[0] == "ack 200: (empty: the answer follows)"
        [completed] = [line for line in said if line.startswith("functions.completeSuccess")]
        assert '"status": "In Progress"' in completed and "comment added" in completed
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_distributed_mode_as_the_readme_walks_it_on_real_processes(
    sandbox: SandboxServer, slack: FakeSlack, tmp_path: Path
) -> None:
    """README, "Distribute to many workspaces": two workspaces install through /slack/install,
    each connects its own sandbox tool through the link flow (the sandbox's signed events reach
    `serve` over HTTP), each updates a ticket; one uninstalls, the other goes on."""
    from bot.cli.try_it import try_command, try_connect, try_event, try_install
    from bot.store.sql.cipher import new_key

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    webhook = sandbox.state.webhooks.create({"target_url": f"{base}/truto/webhooks", "event_types": []})
    env = bot_env(
        sandbox,
        slack,
        PORT=str(port),
        SLACK_CLIENT_ID="1234.5678",
        SLACK_CLIENT_SECRET="walkthrough-secret",
        TICKETBOT_ENCRYPTION_KEY=new_key(),
        TICKETBOT_DATA_DIR=str(tmp_path),
        TRUTO_CONNECT_URL=f"{sandbox.base_url}/connect-account",
        TRUTO_WEBHOOK_SECRET=webhook["secret"],
    )
    del env["SLACK_BOT_TOKEN"], env["TRUTO_INTEGRATED_ACCOUNT_ID"]
    slack.state.admins.add("U0ADMIN")
    slack.state.emails["U0ADMIN"] = "admin@acme.example"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    said: list[str] = []
    event = {"user": "U0ADMIN", "bot_url": base, "fake_url": slack.base_url, "secret": SIGNING_SECRET}
    try:
        wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200)
        for team, tool in (("T0ACME", "jira"), ("T0GLOBEX", "linear")):
            assert try_install(team, bot_url=base, out=said.append) == 0
            assert try_connect(tool, team=team, wait=1.0, out=said.append, **event) == 0
        # Each connected DM's example in its own tool's key and values.
        assert any(
            "Jira is connected. Try it in any channel: /ticket update OPS-42 " in line for line in said
        )  # one of Jira's own project keys
        assert any(
            "Linear is connected. Try it in any channel: /ticket update ENG-42 " in line for line in said
        )
        for team, text in (
            ("T0ACME", "update PROJ-42 priority=high"),
            ("T0GLOBEX", "update ENG-7 priority=urgent"),
        ):
            assert (
                try_command(
                    text,
                    bot_url=base,
                    fake_url=slack.base_url,
                    secret=SIGNING_SECRET,
                    user="U0ADMIN",
                    team=team,
                    wait=1.0,
                    out=said.append,
                )
                == 0
            )
        patched = [
            (p.path, dict(p.query)["integrated_account_id"].rsplit("-", 1)[0])
            for p in sandbox.state.calls("PATCH")
        ]
        assert patched == [
            ("/unified/ticketing/tickets/PROJ-42", "sandbox-jira"),
            ("/unified/ticketing/tickets/ENG-7", "sandbox-linear"),
        ]
        # A person connects their own Jira account; their update is made as them.
        from bot.cli.try_it import try_connect_own

        slack.state.emails["U0ANA"] = "ana@acme.example"
        ana = {**event, "user": "U0ANA"}
        assert try_connect_own("jira", "ana", team="T0ACME", wait=1.0, out=said.append, **ana) == 0
        assert any("Your Jira account is connected" in line for line in said), said
        sandbox.state.requests.clear()
        assert (
            try_command(
                "update PROJ-41 priority=low",
                bot_url=base,
                fake_url=slack.base_url,
                secret=SIGNING_SECRET,
                user="U0ANA",
                team="T0ACME",
                wait=1.0,
                out=said.append,
            )
            == 0
        )
        [mine] = sandbox.state.calls("PATCH")
        assert dict(mine.query)["integrated_account_id"].startswith("jira-")  # her own account
        assert try_event("app_uninstalled", team="T0ACME", wait=0.5, out=said.append, **event) is not None
        sandbox.state.requests.clear()
        for team, text in (
            ("T0ACME", "update PROJ-42 priority=low"),
            ("T0GLOBEX", "update ENG-7 priority=low"),
        ):
            try_command(
                text,
                bot_url=base,
                fake_url=slack.base_url,
                secret=SIGNING_SECRET,
                user="U0ADMIN",
                team=team,
                wait=1.0,
                out=said.append,
            )
        assert [p.path for p in sandbox.state.calls("PATCH")] == ["/unified/ticketing/tickets/ENG-7"]
        assert (
            "response (response_url): ticketbot is not installed in this workspace (any more); a "
            "workspace admin can add it again." in said
        )
    finally:
        process.terminate()
        _, err = process.communicate(timeout=10)
    assert "walkthrough-secret" not in err.decode() and "xoxb-T0ACME" not in err.decode()


def test_serve_on_a_taken_port_exits_at_once_and_starts_nothing(
    sandbox: SandboxServer, slack: FakeSlack, redis_url: str
) -> None:
    """Before: `address already in use` was logged and the worker (and its processes) went on,
    deaf to SIGTERM. Now the port is taken first: nothing starts, the exit is 1."""
    import socket

    with socket.create_server(("127.0.0.1", 0)) as holder:
        port = holder.getsockname()[1]
        env = bot_env(sandbox, slack, PORT=str(port), REDIS_URL=redis_url, WORKER_PROCESSES="1")
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1"],
            env=env,
            capture_output=True,
            timeout=30,
        )
    assert done.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in done.stderr.decode()
    assert time.monotonic() - started < 15
    assert sandbox.state.calls() == []  # no worker asked the tool anything


def test_ticketbot_try_clicks_and_reacts_as_a_person_would(
    sandbox: SandboxServer, slack: FakeSlack, tmp_path: Path
) -> None:
    """Every surface offline: after an update, `try --click Undo` undoes it, a status menu's
    option is picked by its label, and `try --react` applies a reaction's update."""
    from bot.cli.try_it import try_click, try_command, try_react

    config = tmp_path / "ticketbot.yml"
    config.write_text(
        "default_account: jira\naccounts:\n  jira:\n    integrated_account_id: sandbox-jira\n"
        "    reactions:\n      white_check_mark: status=done\n"
    )
    port = free_port()
    env = bot_env(sandbox, slack, PORT=str(port), TICKETBOT_CONFIG=str(config))
    env.pop("TRUTO_INTEGRATED_ACCOUNT_ID")
    slack.state.emails["U0ANA"] = "ana@acme.example"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    common = {"bot_url": base, "fake_url": slack.base_url, "secret": SIGNING_SECRET, "wait": 3.0}
    jira = sandbox.state.profiles["sandbox-jira"]
    try:
        wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200)
        said: list[str] = []
        assert try_command("/ticket update PROJ-42 priority=high", out=said.append, **common) == 0
        assert jira.tickets["PROJ-42"]["priority"]["name"] == "High"
        said.clear()
        assert try_click("Undo", team="T0TRY", user="U0ANA", channel="C0TRY", out=said.append, **common) == 0
        assert said[0] == "clicking 'Undo' (ticket_undo)"
        assert jira.tickets["PROJ-42"]["priority"]["name"] == "Medium"
        said.clear()
        assert try_click("Nope", team="T0TRY", user="U0ANA", channel="C0TRY", out=said.append, **common) == 1
        assert said[0].startswith("✗ nothing the bot posted has 'Nope'; it offers:")
        said.clear()
        assert (
            try_react(
                "white_check_mark", team="T0TRY", user="U0ANA", channel="C0TRY", out=said.append, **common
            )
            == 0
        )
        assert jira.tickets["PROJ-42"]["status"]["name"] == "Done"
        # The edit form, opened by `/ticket PROJ-42` and submitted as a person would.
        from bot.cli.try_it import try_submit

        assert try_command("/ticket PROJ-42", out=said.append, **common) == 0
        said.clear()
        assert try_submit("Priority=Lowest", team="T0TRY", user="U0ANA", out=said.append, **common) == 0
        assert said[0] == "submitting the form 'ticket_edit'"
        assert jira.tickets["PROJ-42"]["priority"]["name"] == "Lowest"
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_ticketbot_try_syncs_a_thread_both_ways_offline(sandbox: SandboxServer, slack: FakeSlack) -> None:
    """The README's loop: a card's "Sync thread", a reply that becomes one comment in the
    sandbox, and a comment written in the tool that appears in the thread (its webhook signed
    and delivered by the sandbox); the bot's own comment, announced too, is not posted back."""
    from bot.cli.try_it import try_click, try_command, try_reply

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    webhook = sandbox.state.webhooks.create({"target_url": f"{base}/truto/webhooks"})
    env = bot_env(sandbox, slack, PORT=str(port), TRUTO_WEBHOOK_SECRET=webhook["secret"])
    slack.state.emails["U0ANA"] = "ana@acme.example"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    common = {"bot_url": base, "fake_url": slack.base_url, "secret": SIGNING_SECRET, "wait": 2.0}
    who = {"team": "T0TRY", "user": "U0ANA", "channel": "C0TRY"}
    jira = sandbox.state.profiles["sandbox-jira"]
    ticket = str(jira.tickets["PROJ-42"]["id"])

    def in_thread() -> list[str]:
        return [
            str(c.args.get("text"))
            for c in slack.state.named("chat.postMessage")
            if c.args.get("thread_ts") and c.args.get("channel") == "C0TRY"
        ]

    try:
        wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200)
        said: list[str] = []
        assert try_command("/ticket update PROJ-42 priority=high", out=said.append, **common) == 0
        assert try_click("Sync thread", out=said.append, **who, **common) == 0
        assert any(t.startswith("This thread is synced with PROJ-42") for t in in_thread())
        assert try_reply("Fixed in build 12", out=said.append, **who, **common) == 0
        wait_until(lambda: len(jira.comments.get(ticket, [])) == 1)
        assert jira.comments[ticket][0]["body"] == "Ana (in Slack): Fixed in build 12"
        httpx.post(
            f"{sandbox.base_url}/_sandbox/comments/sandbox-jira/PROJ-42",
            json={"body": "Deployed to staging", "author": {"name": "Carla Mendes"}},
        )
        wait_until(lambda: any("Carla Mendes in Jira" in t for t in in_thread()))
        time.sleep(1.5)  # the bot's own comment was announced too: nothing more is posted
        assert [t for t in in_thread() if " in Jira on PROJ-42" in t] == [
            "Carla Mendes in Jira on PROJ-42: Deployed to staging"
        ]
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_ticketbot_try_creates_a_ticket_from_a_message_offline(
    sandbox: SandboxServer, slack: FakeSlack
) -> None:
    """The README's loop: "Create ticket" on a message opens the form prefilled; submitted, it
    makes one ticket in the sandbox and posts its card in the message's thread."""
    from bot.cli.try_it import try_create_from, try_submit

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    slack.state.emails.update({"U0ANA": "ana@acme.example", "U0BRUNO": "bruno@acme.example"})
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1"],
        env=bot_env(sandbox, slack, PORT=str(port)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    common = {"bot_url": base, "fake_url": slack.base_url, "secret": SIGNING_SECRET, "wait": 2.0}
    who = {"team": "T0TRY", "user": "U0ANA"}
    try:
        wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200)
        said: list[str] = []
        text = "Checkout fails on Safari\nSteps: add two items, pay"
        assert try_create_from(text, author="U0BRUNO", channel="C0TRY", out=said.append, **who, **common) == 0
        [form] = [c.args["view"] for c in slack.state.named("views.update")]
        assert form["callback_id"] == "ticket_create"
        said.clear()
        words = "Project=PROJ Type=Bug Severity=Major"
        assert try_submit(words, out=said.append, **who, **common) == 0
        assert said[0] == "submitting the form 'ticket_create'"
        created = sandbox.state.profiles["sandbox-jira"].tickets["PROJ-61"]
        assert created["name"] == "Checkout fails on Safari"
        message_ts = slack.state.named("chat.getPermalink")[0].args["message_ts"]
        in_thread = [
            c.args for c in slack.state.named("chat.postMessage") if c.args.get("thread_ts") == message_ts
        ]
        assert any("created" in str(c.get("blocks")) and "PROJ-61" in str(c.get("blocks")) for c in in_thread)
        assert any("created" in line and "PROJ-61" in line for line in said)  # what `try` printed
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_ticketbot_try_finds_tickets_turns_a_page_and_acts_on_one(
    sandbox: SandboxServer, slack: FakeSlack
) -> None:
    """The README's loop: a list, its next page, a listed ticket's card and one of its actions."""
    from bot.cli.try_it import try_click, try_command

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    slack.state.emails["U0ANA"] = "ana@acme.example"
    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1"],
        env=bot_env(sandbox, slack, PORT=str(port)),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    common = {"bot_url": base, "fake_url": slack.base_url, "secret": SIGNING_SECRET, "wait": 1.5}
    who = {"team": "T0TRY", "user": "U0ANA", "channel": "C0TRY"}
    jira = sandbox.state.profiles["sandbox-jira"]

    def answers() -> list[str]:
        return [str(c.args.get("text")) for c in slack.state.named("response")]

    try:
        wait_until(lambda: httpx.get(f"{base}/healthz").status_code == 200)
        said: list[str] = []
        assert try_command('/ticket list status="In Review" "search"', out=said.append, **common) == 0
        assert "14 tickets in Jira" in answers()
        assert try_click("Next page", out=said.append, **who, **common) == 0
        assert try_click("Show card", out=said.append, **who, **common) == 0
        assert try_click("Assign to me", out=said.append, **who, **common) == 0
        wait_until(
            lambda: any(
                a.get("name") == "Ana Lima" for t in jira.tickets.values() for a in t.get("assignees") or []
            )
        )
    finally:
        process.terminate()
        process.wait(timeout=10)
