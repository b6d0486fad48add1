"""Field discovery per account, against both sandbox profiles: what each tool accepts decides
what is refused (before any call), how status is sent, and which query parameters go along."""

from __future__ import annotations

from datetime import date

import pytest

from bot.domain.accounts import AccountQuery
from bot.domain.actors import Actor
from bot.domain.commands import UpdateCommand
from bot.domain.errors import UserInputError
from bot.sandbox import SandboxServer
from bot.service.tickets import TicketService
from bot.store.cache import Cache
from bot.truto.client import TrutoClient
from bot.truto.discovery import Abilities, Discovery, abilities_from, supports_update
from tests.conftest import JIRA, JIRA_CHANNEL, LINEAR, LINEAR_CHANNEL

ANA = Actor(slack_user_id="U0ANA", name="ana")


async def update(service: TicketService, text: str, channel: str) -> None:
    command = service.parse(text, channel, today=date(2026, 11, 27))
    assert isinstance(command, UpdateCommand)
    await service.apply(command, ANA, channel)


async def test_a_field_one_tool_takes_and_the_other_refuses(
    service: TicketService, sandbox: SandboxServer
) -> None:
    await update(service, "PROJ-42 due=friday", JIRA_CHANNEL)
    assert sandbox.state.calls("PATCH")[-1].body == {"due_date": "2026-12-04"}
    with pytest.raises(UserInputError, match="Due date can't be changed in Linear"):
        await update(service, "ENG-7 due=friday", LINEAR_CHANNEL)
    assert len(sandbox.state.calls("PATCH")) == 1


async def test_status_goes_as_the_schema_says(service: TicketService, sandbox: SandboxServer) -> None:
    await update(service, "PROJ-42 status=done", JIRA_CHANNEL)
    await update(service, "ENG-7 status=done", LINEAR_CHANNEL)
    jira, linear = (c.body for c in sandbox.state.calls("PATCH"))
    assert jira == {"status": {"id": "js4", "name": "Done"}}
    assert linear == {"status": "Done"}


async def test_required_query_parameter_from_the_ticket_or_the_config(
    service: TicketService, sandbox: SandboxServer
) -> None:
    await update(service, "ENG-7 priority=high", LINEAR_CHANNEL)
    assert ("workspace_id", "lws1") in sandbox.state.calls("PATCH")[-1].query
    del sandbox.state.profiles["sandbox-linear"].tickets["ENG-8"]["workspace"]
    with pytest.raises(
        UserInputError,
        match=r"the Linear account needs workspace_id for updates and ENG-8 does not carry it; an admin "
        r"can set it as accounts\.linear\.query\.update\.workspace_id",
    ):
        await update(service, "ENG-8 priority=high", LINEAR_CHANNEL)
    configured = LINEAR.model_copy(update={"query": AccountQuery(update={"workspace_id": "ws-from-config"})})
    service.config = service.config.model_copy(update={"accounts": {"jira": JIRA, "linear": configured}})
    await update(service, "ENG-8 priority=high", LINEAR_CHANNEL)
    assert ("workspace_id", "ws-from-config") in sandbox.state.calls("PATCH")[-1].query


async def test_a_tool_without_ticket_update_is_answered_plainly(
    service: TicketService, sandbox: SandboxServer
) -> None:
    sandbox.state.profiles["sandbox-jira"].can_update = False
    with pytest.raises(
        UserInputError,
        match=r"the Jira account can't update tickets .* /ticket show and link previews still work",
    ):
        await update(service, "PROJ-42 status=done", JIRA_CHANNEL)
    assert sandbox.state.calls("PATCH") == []
    command = service.parse("show PROJ-42", JIRA_CHANNEL)
    _, ticket = await service.show(command.ref, JIRA_CHANNEL)  # type: ignore[union-attr]
    assert ticket.id == "PROJ-42"


async def test_discovery_is_cached_for_the_hour(
    client: TrutoClient, sandbox: SandboxServer, cache: Cache
) -> None:
    discovery = Discovery(client, cache)
    first = await discovery.abilities(LINEAR)
    second = await discovery.abilities(LINEAR)
    assert first == second and "due_date" not in (first.body_fields or ())
    assert first.required_query == ("workspace_id",) and "status" in first.string_fields
    assert len(sandbox.state.calls("GET", "/meta/update")) == 1
    assert len(sandbox.state.calls("GET", "/capabilities")) == 1
    await discovery.refresh(LINEAR)
    assert len(sandbox.state.calls("GET", "/meta/update")) == 2


async def test_when_the_tool_cannot_be_asked_nothing_is_refused(
    client: TrutoClient, sandbox: SandboxServer, cache: Cache
) -> None:
    sandbox.state.fail_next(503, times=3, path_contains="/capabilities")
    assert await Discovery(client, cache).abilities(JIRA) == Abilities()
    assert len(sandbox.state.calls("GET", "/meta/update")) == 0


def test_reading_capabilities_and_meta() -> None:
    tickets = {"model": "ticketing", "resource": "tickets", "methods": ["list", "get", "update"]}
    assert supports_update({"unified": [tickets]}) is True
    assert supports_update({"unified": [{**tickets, "methods": ["list", "get"]}]}) is False
    assert (
        supports_update({"unified": [{"model": "ticketing", "resource": "users", "methods": ["list"]}]})
        is False
    )
    assert supports_update({"unified": [{**tickets, "model": "crm"}]}) is False
    assert supports_update({"something": "else"}) is None
    meta = {
        "request_body_schema": {
            "properties": {
                "status": {"type": "string"},
                "name": {"type": "string"},
                "team": {"type": "object"},
            }
        },
        "query_schema": {"required": ["workspace_id"]},
    }
    found = abilities_from({"unified": [tickets]}, meta)
    assert found.body_fields == {"status", "name", "team"}
    assert found.string_fields == {"status", "name"}
    assert found.required_query == ("workspace_id",)
    assert abilities_from(None, None) == Abilities()


async def test_the_metas_defaults_are_never_sent(service: TicketService, sandbox: SandboxServer) -> None:
    """The meta's default_body and default_query say what the API does by itself: a PATCH that
    re-sent them would reset fields the user never touched (here, the priority)."""
    profile = sandbox.state.profiles["sandbox-jira"]
    profile.default_body = {"priority": {"id": "jp5"}, "notify_users": True}
    profile.default_query = {"expand": "all"}
    await update(service, 'PROJ-42 name="Only the title"', JIRA_CHANNEL)
    [patch] = sandbox.state.calls("PATCH")
    assert patch.body == {"name": "Only the title"}
    assert patch.query == [("integrated_account_id", "sandbox-jira")]


async def test_the_tool_is_named_by_its_own_label_never_the_account_key(
    service: TicketService, sandbox: SandboxServer
) -> None:
    from bot.domain.accounts import Account

    unnamed = Account(name="default", integrated_account_id="sandbox-jira")  # no `tool:` given
    service.config = service.config.model_copy(
        update={"accounts": {"default": unnamed}, "channels": {}, "default_account": "default"}
    )
    sandbox.state.profiles["sandbox-jira"].can_update = False
    with pytest.raises(UserInputError, match=r"^the Jira account can't update tickets"):
        await update(service, "PROJ-42 status=done", JIRA_CHANNEL)
    assert unnamed.display_tool == "Jira"  # integration.label, from the capabilities answer
    assert Account(name="default", integrated_account_id="unknown-yet").display_tool == "the ticketing tool"


async def test_a_disconnected_account_is_refused_before_any_call_and_its_state_is_fresh(
    service: TicketService, sandbox: SandboxServer, cache: Cache
) -> None:
    sandbox.state.profiles["sandbox-jira"].status = "needs_reauth"
    with pytest.raises(
        UserInputError, match=r"Jira is not connected .* status is needs_reauth.* reconnect it"
    ):
        await update(service, "PROJ-42 status=done", JIRA_CHANNEL)
    assert sandbox.state.calls("PATCH") == [] and sandbox.state.calls("GET", "/tickets/PROJ") == []
    from bot.store.keys import cache_key

    entry = await cache.backend.get(cache_key(JIRA, "discovery", "capabilities"))
    assert entry is not None and entry.fresh_until - cache._clock() <= 60  # re-read within a minute


async def test_an_unknown_integrated_account_is_named_as_such(
    service: TicketService, sandbox: SandboxServer
) -> None:
    from bot.domain.accounts import Account

    wrong = Account(name="jira", integrated_account_id="nope", tool="Jira")
    service.config = service.config.model_copy(update={"accounts": {"jira": wrong}})
    with pytest.raises(UserInputError, match=r"The integrated account nope was not found in the unified API"):
        await update(service, "PROJ-42 status=done", JIRA_CHANNEL)
    assert sandbox.state.calls("PATCH") == []
