"""manifest.yml matches the app: command, shortcut, URLs, events and scopes.

(Checked against Slack's manifest JSON Schema while developing; that schema is not shipped.)
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from blocks import ids
from bot.domain.refs import BUILTIN_LINK_PATTERNS
from bot.slack.http_server import SLACK_PATH

# The parameter types Slack's manifest schema lists for custom steps (those used here).
SLACK_PARAMETER_TYPES = {
    "slack#/types/interactivity",
    "string",
    "slack#/types/user_id",
    "slack#/types/date",
    "slack#/types/channel_id",
}
MANIFEST = Path(__file__).resolve().parent.parent / "manifest.yml"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data = yaml.safe_load(MANIFEST.read_text())
    assert isinstance(data, dict)
    return data


def test_slash_command(manifest: dict[str, Any]) -> None:
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == ids.COMMAND and len(command["command"]) <= 32
    assert command["should_escape"] is True  # mentions arrive as <@U…|name>
    assert command["usage_hint"] and len(command["description"]) <= 2000
    assert urlparse(command["url"]).path == SLACK_PATH


def test_message_shortcut(manifest: dict[str, Any]) -> None:
    shortcut, comment, create = manifest["features"]["shortcuts"]
    assert shortcut["type"] == "message" and shortcut["callback_id"] == ids.MESSAGE_SHORTCUT
    assert comment["type"] == "message" and comment["callback_id"] == ids.COMMENT_SHORTCUT
    assert create["type"] == "message" and create["callback_id"] == ids.CREATE_SHORTCUT
    for each in (shortcut, comment, create):
        assert len(each["name"]) <= 24 and len(each["description"]) <= 150


def test_every_request_goes_to_the_one_route(manifest: dict[str, Any]) -> None:
    settings = manifest["settings"]
    urls = [
        settings["interactivity"]["request_url"],
        settings["interactivity"]["message_menu_options_url"],
        settings["event_subscriptions"]["request_url"],
    ]
    assert {urlparse(u).path for u in urls} == {SLACK_PATH}
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True


def test_unfurls_and_scopes(manifest: dict[str, Any]) -> None:
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == [
        "app_home_opened",
        "link_shared",
        "reaction_added",
        "app_uninstalled",
        "tokens_revoked",
        "user_change",  # a person deactivated: their own connection forgotten
        "function_executed",
        "message.channels",  # replies in synced threads
        "message.groups",  # …in private channels the bot is a member of
    ]
    assert manifest["oauth_config"]["redirect_urls"] == ["https://ticketbot.example.com/slack/oauth_redirect"]
    domains = manifest["features"]["unfurl_domains"]
    assert 1 <= len(domains) <= 5
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {
        "commands",
        "chat:write",
        "users:read",
        "users:read.email",
        "links:read",
        "links:write",
        "usergroups:read",  # permissions by user group
        "channels:read",  # the Home tab names only the channels its user is in
        "groups:read",  # …private ones too
        "reactions:read",  # emoji reactions that update a ticket
        "channels:history",  # …and the message reacted to, to find its ticket; synced threads' replies
        "groups:history",
    }
    assert len(BUILTIN_LINK_PATTERNS) == len(domains)  # one unfurl domain per built-in link form


def test_display_information(manifest: dict[str, Any]) -> None:
    info = manifest["display_information"]
    assert 1 <= len(info["name"]) <= 35 and len(info["description"]) <= 140
    assert 174 <= len(info["long_description"]) <= 4000


def test_the_readme_lists_the_scopes_the_manifest_requests(manifest: dict[str, Any]) -> None:
    readme = (MANIFEST.parent / "README.md").read_text()
    listed = readme.split("the bot scopes", 1)[1].split("`")[1].split()
    assert sorted(listed) == sorted(manifest["oauth_config"]["scopes"]["bot"])


def test_the_home_tab_is_enabled_and_its_event_subscribed(manifest: dict[str, Any]) -> None:
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert "app_home_opened" in manifest["settings"]["event_subscriptions"]["bot_events"]


def test_distributed_mode_asks_for_the_manifests_bot_scopes() -> None:
    from handlers.distributed import BOT_SCOPES

    manifest = yaml.safe_load(MANIFEST.read_text())
    assert BOT_SCOPES.split(",") == manifest["oauth_config"]["scopes"]["bot"]


def test_workflow_steps_match_what_the_app_reads_and_completes(manifest: dict[str, Any]) -> None:
    from bot.domain.workflow_inputs import (
        CREATE_INPUTS,
        CREATE_OUTPUTS,
        GET_INPUTS,
        OUTPUTS,
        STEPS,
        UPDATE_INPUTS,
    )

    functions = manifest["functions"]
    assert tuple(functions) == STEPS
    assert manifest["settings"]["function_runtime"] == "remote"
    assert manifest["settings"]["org_deploy_enabled"] is True  # steps appear for org-ready apps
    shapes = (
        (UPDATE_INPUTS, ["ticket"], OUTPUTS),
        (GET_INPUTS, ["ticket"], OUTPUTS),
        (CREATE_INPUTS, ["title"], CREATE_OUTPUTS),
    )
    for step, (inputs, required, outputs) in zip(STEPS, shapes, strict=True):
        declared = functions[step]
        assert tuple(declared["input_parameters"]) == inputs
        assert [n for n, p in declared["input_parameters"].items() if p.get("is_required")] == required
        assert tuple(declared["output_parameters"]) == outputs
        assert [n for n, p in declared["output_parameters"].items() if p.get("is_required")] == ["ticket_id"]
        for parameter in (*declared["input_parameters"].values(), *declared["output_parameters"].values()):
            assert parameter["title"] and parameter["type"] in SLACK_PARAMETER_TYPES
