"""`ticketbot check` against the sandbox and the fake Slack API: one failing check per kind."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.cli.doctor import doctor, run_checks
from bot.domain.accounts import Account
from bot.ops.config import AppConfig, ConfigError, Settings, load_config
from bot.sandbox import SANDBOX_TOKEN, SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from tests.conftest import JIRA
from tests.redis_server import free_port


def loader(
    sandbox: SandboxServer, slack: FakeSlack, *, accounts: dict[str, Account] | None = None, **settings: Any
) -> Callable[[], AppConfig]:
    values: dict[str, Any] = {
        "slack_bot_token": "xoxb-doctor",
        "slack_signing_secret": "doctor-secret",
        "slack_api_url": slack.api_url,
        "truto_base_url": sandbox.base_url,
        "truto_api_token": SANDBOX_TOKEN,
        **settings,
    }
    chosen = (
        accounts
        if accounts is not None
        else {"jira": Account(name="jira", integrated_account_id="sandbox-jira")}
    )

    def load() -> AppConfig:
        return AppConfig(settings=Settings(**values), accounts=chosen, channels={}, default_account=None)

    return load


async def lines(load: Callable[[], AppConfig]) -> tuple[int, list[str]]:
    out: list[str] = []
    code = await doctor(out.append, load)
    return code, out[0].splitlines()


async def test_all_good(sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str) -> None:
    code, text = await lines(loader(sandbox, fake_slack, redis_url=clean_redis))
    assert code == 0
    assert text[-1] == "all checks passed"
    assert any(line.startswith("✓ Slack auth.test") and "@ticketbot" in line for line in text)
    assert any(line.startswith("✓ account jira") for line in text)
    assert any(line.startswith("✓ Redis") and line.endswith("answers") for line in text)


async def test_missing_keys_are_named_with_hints(sandbox: SandboxServer, fake_slack: FakeSlack) -> None:
    code, text = await lines(
        loader(sandbox, fake_slack, slack_bot_token=None, slack_signing_secret=None, accounts={})
    )
    assert code == 1
    assert any(line.startswith("✗ SLACK_BOT_TOKEN") and "Bot User OAuth Token" in line for line in text)
    assert any(line.startswith("✗ SLACK_SIGNING_SECRET") and "Signing Secret" in line for line in text)
    assert any(line.startswith("✗ accounts") and "TRUTO_INTEGRATED_ACCOUNT_ID" in line for line in text)


async def test_slack_refusal_gets_a_hint(sandbox: SandboxServer, fake_slack: FakeSlack) -> None:
    fake_slack.state.fail_next("auth.test", error="invalid_auth")
    checks = await run_checks(loader(sandbox, fake_slack))
    slack = next(c for c in checks if c.name == "Slack auth.test")
    assert not slack.ok and slack.detail.startswith("invalid_auth: SLACK_BOT_TOKEN is not valid")


async def test_accounts_that_cannot_update_or_do_not_exist(
    sandbox: SandboxServer, fake_slack: FakeSlack
) -> None:
    sandbox.state.profiles["sandbox-linear"].can_update = False
    accounts = {
        "linear": Account(name="linear", integrated_account_id="sandbox-linear"),
        "ghost": Account(name="ghost", integrated_account_id="no-such-account"),
    }
    checks = {c.name: c for c in await run_checks(loader(sandbox, fake_slack, accounts=accounts))}
    assert (
        not checks["account linear"].ok
        and "does not support ticket updates" in checks["account linear"].detail
    )
    ghost = checks["account ghost"]
    assert not ghost.ok
    assert ghost.detail.startswith("The integrated account no-such-account was not found in the unified API")


async def test_redis_not_answering(sandbox: SandboxServer, fake_slack: FakeSlack) -> None:
    checks = {
        c.name: c
        for c in await run_checks(loader(sandbox, fake_slack, redis_url=f"redis://127.0.0.1:{free_port()}/0"))
    }
    assert not checks["Redis"].ok and "does not answer" in checks["Redis"].detail


async def test_bad_configuration_is_one_check_listing_every_problem() -> None:
    def broken() -> AppConfig:
        raise ConfigError("TRUTO_BASE_URL: must be an http(s) URL\nREDIS_URL: must start with redis://")

    code, text = await lines(broken)
    assert code == 1
    assert text == [
        "✗ configuration  2 problems:",
        "                 - TRUTO_BASE_URL: must be an http(s) URL",
        "                 - REDIS_URL: must start with redis://",
        "",
        "1 of 1 checks failed",
    ]


async def test_a_bad_yaml_file_is_listed_whole(tmp_path: Path) -> None:
    path = tmp_path / "ticketbot.yml"
    path.write_text(
        "default_account: jirra\n"
        "accounts:\n"
        "  jira: {integrated_account_id: ia-1, channel_card: big}\n"
        "  linear: {tool: Linear}\n"
        "channels:\n"
        "  general: jira\n"
        "  C0LIN: linaer\n"
    )
    code, text = await lines(lambda: load_config(ticketbot_config=path, truto_api_token="t"))
    prefix = f"                 - TICKETBOT_CONFIG ({path}): "
    assert code == 1
    assert text == [
        "✗ configuration  5 problems:",
        f"{prefix}accounts.jira.channel_card: Input should be 'full', 'compact' or 'none'",
        f"{prefix}accounts.linear.integrated_account_id: Field required",
        f"{prefix}channels.general: 'general' is not a channel id; channels are listed by id "
        "(C0123ABCD: in Slack, open the channel's details; the id is at the bottom of About)",
        f"{prefix}channels.C0LIN: no account named 'linaer' (known: jira, linear)",
        f"{prefix}default_account: no account named 'jirra' (known: jira, linear)",
        "",
        "1 of 1 checks failed",
    ]


@pytest.mark.parametrize("argv", [["check"]])
def test_cli_check_exit_code(
    argv: list[str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from bot.cli.main import main

    for key in (
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "TRUTO_API_TOKEN",
        "TRUTO_INTEGRATED_ACCOUNT_ID",
        "TICKETBOT_CONFIG",
    ):
        monkeypatch.delenv(key, raising=False)
    assert main(argv) == 1
    assert "✗ SLACK_BOT_TOKEN" in capsys.readouterr().out


async def test_form_custom_fields_are_checked_against_the_tool(
    sandbox: SandboxServer, fake_slack: FakeSlack
) -> None:
    accounts = {
        "jira": Account(
            name="jira", integrated_account_id="sandbox-jira", form_custom_fields=("story points", "sprint")
        ),
        "linear": Account(name="linear", integrated_account_id="sandbox-linear", form_custom_fields=("x",)),
    }
    code, text = await lines(loader(sandbox, fake_slack, accounts=accounts))
    assert code == 1
    assert any(
        line.startswith("✗ account jira form_custom_fields")
        and "no custom field named sprint; this account has: story_points, severity," in line
        for line in text
    )
    assert any(
        line.startswith("✗ account linear form_custom_fields")
        and line.endswith("the tool lists no custom field definitions: remove the key")
        for line in text
    )
    good = {
        "jira": Account(name="jira", integrated_account_id="sandbox-jira", form_custom_fields=("Reviewer",))
    }
    code, text = await lines(loader(sandbox, fake_slack, accounts=good))
    assert any(
        line.startswith("✓ account jira form_custom_fields") and line.endswith("severity, reviewer")
        for line in text
    )


async def test_live_cards_need_the_secret_here_and_the_webhook_there(
    sandbox: SandboxServer, fake_slack: FakeSlack
) -> None:
    def live_line(text: list[str]) -> str:
        return next(line for line in text if "live cards" in line)

    _, text = await lines(loader(sandbox, fake_slack))
    assert live_line(text).startswith("✓ live cards") and "off (optional)" in live_line(text)
    _, text = await lines(loader(sandbox, fake_slack, truto_webhook_secret="s3cret"))
    assert live_line(text).startswith("✗ live cards") and "ticketbot webhooks register" in live_line(text)
    sandbox.state.webhooks.create(
        {"target_url": "https://bot.example.com/truto/webhooks", "event_types": ["record:updated"]}
    )
    _, text = await lines(loader(sandbox, fake_slack, truto_webhook_secret="s3cret"))
    assert live_line(text).endswith(
        "on: the API sends ticket changes to https://bot.example.com/truto/webhooks"
    )
    _, text = await lines(loader(sandbox, fake_slack))
    assert "TRUTO_WEBHOOK_SECRET is not set here" in live_line(text)


async def test_a_wrong_api_token_is_named_as_such(sandbox: SandboxServer, fake_slack: FakeSlack) -> None:
    code, text = await lines(loader(sandbox, fake_slack, truto_api_token="not-the-token"))
    assert code == 1
    line = next(line for line in text if line.startswith("✗ account jira"))
    assert "token for the unified ticketing API is not valid (401 from the API)" in line


async def test_the_redis_line_appears_even_without_an_api_token(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> None:
    _, text = await lines(loader(sandbox, fake_slack, truto_api_token=None, redis_url=clean_redis))
    assert any(line.startswith("✓ Redis") and line.endswith("answers") for line in text)


async def test_check_says_by_which_name_messages_call_each_tool(
    sandbox: SandboxServer, fake_slack: FakeSlack
) -> None:
    accounts = {
        "default": Account(name="default", integrated_account_id="sandbox-jira"),
        "named": Account(name="named", integrated_account_id="sandbox-linear", tool="Linear (Eng)"),
    }
    checks = {c.name: c for c in await run_checks(loader(sandbox, fake_slack, accounts=accounts))}
    assert checks["account default"].detail.endswith("messages name it Jira (the unified API's label)")
    assert checks["account named"].detail.endswith("messages name it Linear (Eng) (tool in the config)")


async def test_webhooks_that_cannot_be_listed_are_a_failed_check(
    sandbox: SandboxServer, fake_slack: FakeSlack
) -> None:
    sandbox.state.fail_next(403, times=10, method="GET", path_contains="/webhook")
    code, text = await lines(loader(sandbox, fake_slack))
    line = next(line for line in text if "live cards" in line)
    assert line.startswith("✗ live cards") and "can't list the webhooks" in line
    assert code == 1


async def test_a_leftover_account_id_beside_the_yaml_is_a_warning(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> None:
    accounts = {
        "jira": Account(name="jira", integrated_account_id="sandbox-jira"),
        "default": Account(name="default", integrated_account_id="sandbox-jira"),
    }
    load = loader(
        sandbox,
        fake_slack,
        accounts=accounts,
        truto_integrated_account_id="sandbox-jira",
        redis_url=clean_redis,
    )
    code, text = await lines(load)
    warning = next(line for line in text if line.startswith("! TRUTO_INTEGRATED_ACCOUNT_ID"))
    assert "names sandbox-jira, which TICKETBOT_CONFIG already lists as jira" in warning
    assert warning.endswith("unset it")
    assert code == 0 and text[-1] == "all checks passed"  # a warning is not a failure


async def test_keys_under_another_namespace_are_named(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> None:
    import redis.asyncio as aioredis

    from bot.store import keys

    client = aioredis.from_url(clean_redis)
    await client.flushdb()
    await client.set("ticketbot:dfeedface0001:audit", "x")
    await client.set("ticketbot:dfeedface0001:history:U0ANA", "x")
    await client.set("ticketbot:shared:ratelimit:sandbox-jira", "1")  # shared on purpose: not listed
    before = keys.current(), keys.previous()
    try:
        code, text = await lines(loader(sandbox, fake_slack, redis_url=clean_redis))
        here = keys.current()
    finally:
        keys.use(*before)
        await client.flushdb()
        await client.aclose()
    assert code == 0  # a warning, not a failure
    at = next(i for i, line in enumerate(text) if line.startswith("! Redis namespace"))
    assert text[at].endswith(f"{here}; keys under another namespace: dfeedface0001 (2 keys)")
    assert "`ticketbot namespace adopt <name>` moves one's history and audit trail here" in text[at + 1]


def test_a_closed_pipe_ends_the_cli_without_a_traceback() -> None:
    """`ticketbot demo | head -1`: the reader leaves after one line."""
    import subprocess
    import sys

    process = subprocess.Popen(
        [sys.executable, "-m", "bot", "demo"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={"PATH": ""},
    )
    assert process.stdout is not None and process.stderr is not None
    assert process.stdout.readline().strip()
    process.stdout.close()
    errors = process.stderr.read().decode()
    assert process.wait(timeout=120) == 141
    assert errors == ""


def test_empty_settings_are_not_set_and_serve_names_every_missing_one(tmp_path: Path) -> None:
    """`.env.example` ships `SLACK_SIGNING_SECRET=`: empty is not set, for check and serve alike."""
    import subprocess
    import sys

    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "SLACK_SIGNING_SECRET": "",
        "SLACK_BOT_TOKEN": "",
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        timeout=60,
        cwd=tmp_path,
    )
    said = done.stderr.decode() + done.stdout.decode()
    assert done.returncode != 0 and "Traceback" not in said
    for name in ("SLACK_SIGNING_SECRET: not set", "SLACK_BOT_TOKEN: not set", "TRUTO_API_TOKEN: not set"):
        assert name in said
    checked = subprocess.run(
        [sys.executable, "-m", "bot", "check"], env=env, capture_output=True, timeout=60, cwd=tmp_path
    )
    assert (
        "✗ SLACK_SIGNING_SECRET" in checked.stdout.decode() and "✗ SLACK_BOT_TOKEN" in checked.stdout.decode()
    )


async def test_an_unreachable_api_is_named_with_its_setting(
    sandbox: SandboxServer, fake_slack: FakeSlack
) -> None:
    code, text = await lines(loader(sandbox, fake_slack, truto_base_url="http://127.0.0.1:9"))
    assert code == 1
    [line] = [t for t in text if t.startswith("✗ account jira")]
    assert "cannot reach the unified API at http://127.0.0.1:9 (TRUTO_BASE_URL)" in line
    assert "try again in a minute" not in line


async def test_reactions_are_checked_as_the_updates_they_stand_for(
    sandbox: SandboxServer, fake_slack: FakeSlack
) -> None:
    """`fire: priority=P0` where Jira has no P0 passed before; now check names it."""
    jira = JIRA.model_copy(update={"reactions": {"fire": "priority=P0", "eyes": "assignee=me status=done"}})
    code, text = await lines(loader(sandbox, fake_slack, accounts={"jira": jira}))
    assert code == 1
    [line] = [t for t in text if t.startswith("✗ account jira reactions")]
    assert ":fire: priority=P0:" in line and "no priority matches 'P0'" in line
    assert ":eyes:" not in line  # `me` is whoever reacts; the status is one Jira has
