"""A ticket URL is routed by the account whose links it matches, not by the channel; a bare
key goes to the channel's account."""

from __future__ import annotations

from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from tests.conftest import JIRA_CHANNEL
from tests.scenarios.conftest import Harness, harness_config, last, running
from tests.scenarios.payloads import link_shared, message_action

LINEAR_URL = "https://linear.app/acme/issue/ENG-7"


def accounts_read(harness: Harness, method: str = "GET") -> list[str]:
    calls = harness.sandbox.state.calls(method, "/tickets/")
    return [dict(c.query)["integrated_account_id"] for c in calls if "/meta/" not in c.path]


async def test_an_update_of_a_linear_link_in_a_jira_channel_goes_to_linear(harness: Harness) -> None:
    await harness.command(f"update {LINEAR_URL} priority=high", channel=JIRA_CHANNEL)
    [patch] = harness.sandbox.state.calls("PATCH")
    assert (
        patch.path.endswith("/tickets/ENG-7")
        and dict(patch.query)["integrated_account_id"] == "sandbox-linear"
    )
    assert "Linear" in str(last(harness.calls("chat.postMessage"))["blocks"])


async def test_show_and_unfurl_read_the_links_own_account(harness: Harness) -> None:
    await harness.command(f"show {LINEAR_URL}", channel=JIRA_CHANNEL)
    assert accounts_read(harness) == ["sandbox-linear"]
    harness.reset_counts()
    await harness.event(
        link_shared([LINEAR_URL, "https://acme.atlassian.net/browse/PROJ-42"], channel=JIRA_CHANNEL)
    )
    assert sorted(accounts_read(harness)) == ["sandbox-jira", "sandbox-linear"]
    assert list(last(harness.calls("chat.unfurl"))["unfurls"]) == [
        LINEAR_URL,
        "https://acme.atlassian.net/browse/PROJ-42",
    ]


async def test_a_bare_key_stays_with_the_channel(harness: Harness) -> None:
    await harness.command("show PROJ-42", channel=JIRA_CHANNEL)
    assert accounts_read(harness) == ["sandbox-jira"]


async def test_the_shortcut_edits_a_link_on_its_own_account(harness: Harness) -> None:
    await harness.interact(
        message_action(
            {"text": f"see <{LINEAR_URL}|ENG-7>"},
            channel=JIRA_CHANNEL,
            response_url=harness.slack.response_url(),
        )
    )
    form = last(harness.calls("views.update"))["view"]
    assert form["callback_id"] == "ticket_edit"
    assert accounts_read(harness) == ["sandbox-linear"]


async def test_a_linear_url_of_any_workspace_goes_to_the_linear_account(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> None:
    """The README promises it without a URL template; and another tool's link that no account
    matches is said so instead of being looked up in this channel's tool."""
    from tests.conftest import JIRA_CHANNEL, LINEAR

    linear = LINEAR.model_copy(update={"ticket_url_template": None})
    config = harness_config(sandbox, fake_slack, clean_redis, linear=linear)
    async with running(config, sandbox, fake_slack) as harness:
        await harness.command("update <https://linear.app/othercorp/issue/ENG-7|ENG-7> priority=urgent")
        [patch] = harness.sandbox.state.calls("PATCH")
        assert dict(patch.query)["integrated_account_id"] == "sandbox-linear"
        answer = await harness.command(
            "update https://github.com/acme/api/issues/7 priority=high", channel=JIRA_CHANNEL
        )
        said = answer.json()["text"] if answer.content else harness.calls("response")[-1].args["text"]
        assert (
            "That is a GitHub link, and no GitHub account is connected here (this channel uses Jira)" in said
        )
        assert len(harness.sandbox.state.calls("PATCH")) == 1
