"""A list never shows a ticket the reader's own connection cannot read: it is read through it."""

from __future__ import annotations

from tests.fleet import fleet
from tests.scenarios.conftest import Harness, last
from tests.scenarios.test_personal_connections import acme_with_jira, connect_own, said

__all__ = ["fleet"]  # the fixture


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
