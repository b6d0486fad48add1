"""A list never shows a ticket the reader's own connection cannot read: it is read through it."""

from __future__ import annotations

from tests.fleet import fleet
from tests.scenarios.conftest import Harness, harness, last
from tests.scenarios.test_personal_connections import acme_with_jira, connect_own, said

__all__ = ["fleet", "harness"]  # the fixtures


async def test_a_list_is_read_through_the_readers_own_connection(fleet: Harness) -> None:
    workspace_jira = await acme_with_jira(fleet)
    fleet.sandbox.state.profiles[workspace_jira].tickets["PROJ-42"]["updated_at"] = "2026-12-05T10:00:00Z"
    mine, _ = await connect_own(fleet, "U0CARLA", "carla", projects="OPS")
    fleet.reset_counts()
    await said(fleet, 'list "login"', "U0CARLA")
    [listed] = [r for r in fleet.sandbox.state.calls("GET") if r.path == "/unified/ticketing/tickets"]
    assert dict(listed.query)["integrated_account_id"] == mine  # hers, not the workspace's
    shown = str(last(fleet.calls("response"))["blocks"])
    assert "PROJ-" not in shown and "*0 tickets* in Jira" in shown  # she reads no PROJ ticket
    await said(fleet, 'list "login"', "U0ADMIN")  # the workspace's account reads them
    shown = str(last(fleet.calls("response"))["blocks"])
    assert "Login fails with SSO" in shown and "*16 tickets* in Jira" in shown


async def test_a_lists_buttons_are_refused_to_another_person_and_when_forged(harness: Harness) -> None:
    """A page turn or "Update all" is the asker's alone (their list is kept under their own name),
    and a value altered on the way verifies nothing."""
    from blocks import ids
    from tests.scenarios.test_ticket_list import click, turn

    await harness.command('list status="In Review"')
    mine = last(harness.calls("response"))
    harness.reset_counts()
    await harness.interact(click(harness, turn(mine, "Next page"), user="U0BRUNO"))
    assert last(harness.calls("response"))["text"].startswith("This list is more than 10 minutes old")
    everyone = next(
        e
        for b in mine["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ids.LIST_UPDATE_ALL
    )
    await harness.interact(click(harness, everyone, user="U0BRUNO"))
    assert harness.calls("views.open") == []  # no form for someone else's list
    forged = {**turn(mine, "Next page"), "value": turn(mine, "Next page")["value"][:-4] + "AAAA"}
    await harness.interact(click(harness, forged))
    assert "not valid any more" in str(last(harness.calls("response")))
    assert [c for c in harness.sandbox.state.calls() if c.method != "GET"] == []
