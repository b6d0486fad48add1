"""The command line: the demo, update with --dry-run, lookups, and configuration errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli.main import command_text, main
from bot.sandbox import SANDBOX_TOKEN, SandboxServer
from bot.store.sql.cipher import new_key


@pytest.mark.slow
def test_demo_runs_without_credentials() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo"], capture_output=True, text=True, timeout=60, env={"PATH": ""}
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert '"name": "In Progress"' in out
    assert "Status: To Do → In Progress" in out
    assert "no status matches 'finished'" in out
    assert "did you mean 'priority'?" in out
    assert "Done: 3 updates applied, 4 commands refused before any call." in out
    live = out.split("[live card]", 1)[1]  # the card in Slack changes by itself
    posted, updated = live.split("chat.update of that card:")
    assert "@U0ANA set PROJ-42 status In Progress → To Do · To Do" in posted  # the compact line
    # The line keeps who set what, and gains the state after it.
    assert "@U0ANA set PROJ-42 status In Progress → To Do · To Do · now Done · updated" in updated
    assert " in Jira" in updated.splitlines()[1] and "(1 card update for 2 webhook events" in updated
    # A channel subscribed to status changes: a line, then the next change in its thread.
    heard = out.split("[subscription]", 1)[1].splitlines()
    assert (
        heard[1].strip()
        == "PROJ-42 Login fails with SSO & SAML: status In Progress → To Do · by @U0ANA from Slack"
    )
    assert heard[2].strip() == "└ PROJ-42 Login fails with SSO & SAML closed: status To Do → Done · in Jira"
    # A Workflow Builder step: applied, and completed with its outputs.
    step = out.split("[workflow step]", 1)[1].splitlines()
    assert step[1].strip().startswith("functions.completeSuccess → status")
    assert step[2].strip().endswith("priority Medium → High; comment added")


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, sandbox: SandboxServer) -> SandboxServer:
    for key in ("REDIS_URL", "TICKETBOT_CONFIG", "SLACK_BOT_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TRUTO_BASE_URL", sandbox.base_url)
    monkeypatch.setenv("TRUTO_API_TOKEN", SANDBOX_TOKEN)
    monkeypatch.setenv("TRUTO_INTEGRATED_ACCOUNT_ID", "sandbox-jira")
    return sandbox


def test_update_dry_run_prints_the_request_and_sends_nothing(
    env: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["update", "PROJ-42", "status=In Progress", "tags+=backend", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert out.startswith(
        f"PATCH {env.base_url}/unified/ticketing/tickets/PROJ-42?integrated_account_id=sandbox-jira\n"
    )
    assert '"name": "In Progress"' in out and '"name": "backend"' in out
    assert env.state.calls("PATCH") == []


def test_a_dry_run_with_redis_prints_the_request_alone(
    clean_redis: str, env: SandboxServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REDIS_URL", clean_redis)
    for _ in range(3):  # cold caches, then warm ones
        assert main(["update", "PROJ-42", "status=done", "--dry-run"]) == 0
        out, err = capsys.readouterr()
        assert out.startswith("PATCH ") and err == ""


def test_me_without_a_slack_user_points_to_as_email(
    env: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["update", "PROJ-42", "assignee=me"]) == 1
    assert "--as-email" in capsys.readouterr().err
    assert env.state.calls("PATCH") == []


def test_update_applies_and_prints_the_ticket(env: SandboxServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["update", "PROJ-42", "priority=highest", "--as-email", "ana@acme.example"]) == 0
    out = capsys.readouterr().out
    assert "Priority: Medium → Highest" in out
    assert len(env.state.calls("PATCH")) == 1


def test_update_with_a_bad_value_exits_1(env: SandboxServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["update", "PROJ-42", "status=finished"]) == 1
    assert "no status matches 'finished'" in capsys.readouterr().err
    assert env.state.calls("PATCH") == []


def test_lookups_show_and_refresh(env: SandboxServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lookups", "show", "ticket_priorities"]) == 0
    assert '"name": "Highest"' in capsys.readouterr().out
    assert main(["lookups", "refresh"]) == 0
    out = capsys.readouterr().out
    assert "default: ticket_status 4, ticket_priorities 5" in out
    assert "default: the tool can update tickets; fields: account, assignees" in out


def test_configuration_error_exits_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TRUTO_BASE_URL", "not a url")
    assert main(["lookups", "refresh"]) == 2
    assert "TRUTO_BASE_URL: must be an http(s) URL" in capsys.readouterr().err


def test_missing_token_is_named(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("TRUTO_API_TOKEN", raising=False)
    monkeypatch.setenv("TRUTO_INTEGRATED_ACCOUNT_ID", "x")
    assert main(["lookups", "refresh"]) == 2
    assert "TRUTO_API_TOKEN: not set" in capsys.readouterr().err


def test_shell_arguments_are_requoted() -> None:
    assert command_text(["update", "PROJ-42", "status=In Progress", 'name=say "hi"', "tags+=a"]) == (
        'update PROJ-42 status="In Progress" name="say \\"hi\\"" tags+=a'
    )


def test_lookup_names_people_type_are_understood() -> None:
    from bot.cli.main import _parser

    assert _parser().parse_args(["lookups", "show", "statuses"]).resource == "ticket_status"
    assert _parser().parse_args(["lookups", "show", "priorities"]).resource == "ticket_priorities"
    assert _parser().parse_args(["lookups", "show", "users"]).resource == "users"


def test_sandbox_help_shows_its_default_port(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli.main import _parser

    with pytest.raises(SystemExit):
        _parser().parse_args(["sandbox", "--help"])
    assert "default: 8010" in capsys.readouterr().out


def test_in_distributed_mode_the_webhook_also_gets_the_connection_events(
    env: SandboxServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("TRUTO_INTEGRATED_ACCOUNT_ID")
    monkeypatch.setenv("SLACK_CLIENT_ID", "1234.5678")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "s")
    monkeypatch.setenv("TICKETBOT_ENCRYPTION_KEY", new_key())
    monkeypatch.setenv("TICKETBOT_DATA_DIR", str(tmp_path))
    assert main(["webhooks", "register", "--url", "https://bot.example.com/truto/webhooks"]) == 0
    [webhook] = env.state.webhooks.registered.values()
    assert webhook["event_types"] == [
        "record:created",
        "record:updated",
        "record:deleted",
        "integrated_account:active",
        "integrated_account:reactivated",
        "integrated_account:authentication_error",
        "integrated_account:validation_error",
        "integrated_account:post_install_error",
        "integrated_account:deleted",
    ]


def test_webhooks_register_prints_the_secret_once_then_list_and_delete(
    env: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["webhooks", "register", "--url", "https://bot.example.com/truto/webhooks"]) == 0
    out = capsys.readouterr().out
    [webhook] = env.state.webhooks.registered.values()
    assert webhook["target_url"] == "https://bot.example.com/truto/webhooks"
    assert webhook["event_types"] == ["record:created", "record:updated", "record:deleted"]
    assert f"    TRUTO_WEBHOOK_SECRET={webhook['secret']}\n" in out
    assert main(["webhooks", "list"]) == 0
    listed = capsys.readouterr().out
    assert webhook["id"] in listed and "← live cards" in listed and webhook["secret"] not in listed
    assert main(["webhooks", "delete", webhook["id"]]) == 0
    assert env.state.webhooks.registered == {}


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://bot.example.com/truto/webhooks", "must be https://"),
        ("https://bot.example.com/slack/events", "the path must be /truto/webhooks"),
    ],
)
def test_webhooks_register_refuses_a_url_that_cannot_work(
    env: SandboxServer, capsys: pytest.CaptureFixture[str], url: str, why: str
) -> None:
    assert main(["webhooks", "register", "--url", url]) == 1
    assert why in capsys.readouterr().err
    assert env.state.calls() == []


def test_a_bulk_dry_run_prints_each_request(env: SandboxServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["update", "PROJ-1", "PROJ-2,PROJ-3", "priority=high", "--dry-run"]) == 0
    out = capsys.readouterr().out
    requests = [block for block in out.split("\n\n") if block.startswith("PATCH ")]
    assert [r.splitlines()[0] for r in requests] == [
        f"PATCH {env.base_url}/unified/ticketing/tickets/PROJ-{n}?integrated_account_id=sandbox-jira"
        for n in (1, 2, 3)
    ]
    assert all('"name": "High"' in r for r in requests)
    assert env.state.calls("PATCH") == []


def test_update_executes_the_plan_it_printed(env: SandboxServer, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["update", "PROJ-1", "PROJ-2", "priority=high"]) == 0
    assert [c.path.rsplit("/", 1)[1] for c in env.state.calls("PATCH")] == ["PROJ-1", "PROJ-2"]
    assert len(env.state.calls("GET", "/tickets/PROJ-1")) == 1  # planned once, not again to apply
    assert "Updated PROJ-2" in capsys.readouterr().out


def test_webhooks_register_leaves_an_existing_webhook_alone_unless_replace(
    env: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "https://bot.example.com/truto/webhooks"
    assert main(["webhooks", "register", "--url", url]) == 0
    [first] = env.state.webhooks.registered.values()
    [create] = [c for c in env.state.calls("POST") if c.path == "/webhook"]
    assert len(create.headers["idempotency-key"]) == 32  # a retried create makes one webhook
    capsys.readouterr()
    assert main(["webhooks", "register", "--url", url]) == 1
    said = capsys.readouterr().out
    assert said.startswith(f"A webhook already sends events to {url}") and "--replace" in said
    assert list(env.state.webhooks.registered.values()) == [first]  # nothing was done
    assert main(["webhooks", "register", "--url", url, "--replace"]) == 0
    [second] = env.state.webhooks.registered.values()
    assert second["id"] != first["id"] and second["secret"] != first["secret"]


def test_webhooks_delete_of_an_unknown_id_says_so(
    env: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["webhooks", "delete", "wh-nope"]) == 1
    assert "No webhook wh-nope" in capsys.readouterr().out


def test_try_step_reads_inputs_as_a_shell_does() -> None:
    from bot.cli.try_it import step_inputs

    inputs = step_inputs('ticket=PROJ-42 status="In Progress"', "U0ANA")
    assert inputs["interactivity"]["interactor"]["id"] == "U0ANA"  # the workflow was started by U0ANA
    assert {k: v for k, v in inputs.items() if k != "interactivity"} == {
        "ticket": "PROJ-42",
        "status": "In Progress",
    }
    assert step_inputs("ticket=PROJ-42 updated_by=U0BRUNO", "U0ANA")["updated_by"] == "U0BRUNO"
    with pytest.raises(ValueError, match="'PROJ-42': give each input as name=value"):
        step_inputs("PROJ-42 status=Done", "U0ANA")


def test_try_prints_answers_as_text_and_doctor_is_check() -> None:
    from bot.cli.main import _parser
    from bot.cli.try_it import ack_text

    body = '{"response_type": "ephemeral", "text": "Priority: no priority matches \'&lt;P0&gt;\'\\u2026"}'
    assert ack_text(200, body) == "ack 200: Priority: no priority matches '<P0>'…"
    assert ack_text(200, "") == "ack 200: (empty: the answer follows)"
    assert _parser().parse_args(["doctor"]).command == "doctor"
    helped = _parser()._subparsers._group_actions[0].choices["try"].format_help()  # type: ignore[union-attr]
    for flag in ("--channel", "--user", "--wait", "--team", "--click", "--react"):
        assert flag in helped
    assert "(default: C0TRY)" in helped and "(default: U0ANA)" in helped and "(default: 5)" in helped
