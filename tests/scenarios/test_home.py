"""The App Home tab: where the bot works, examples that work here, the user's recent updates."""

from __future__ import annotations

import time
import uuid
from datetime import date, timedelta
from typing import Any

from blocks import ids
from tests.scenarios.conftest import Harness, last


def home_opened(user: str = "U0ANA", tab: str = "home") -> dict[str, Any]:
    return {
        "token": "gIkuvaNzQIHg97ATvDxqgjtO",
        "team_id": "T0TEAM",
        "api_app_id": "A0TICKETBOT",
        "event": {
            "type": "app_home_opened",
            "user": user,
            "channel": "D0HOME",
            "tab": tab,
            "event_ts": f"{time.time():.6f}",
        },
        "type": "event_callback",
        "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
        "event_time": int(time.time()),
    }


def text_of(view: dict[str, Any]) -> str:
    return "\n".join(str((b.get("text") or {}).get("text", "")) for b in view["blocks"])


async def test_the_home_tab_shows_where_it_works_examples_and_recent_updates(harness: Harness) -> None:
    await harness.command("PROJ-42 priority=high")
    harness.slack.state.memberships["U0ANA"] = ["CJIRA", "CLINEAR"]
    harness.reset_counts()
    await harness.event(home_opened())
    published = last(harness.calls("views.publish"))
    assert published["user_id"] == "U0ANA" and published["view"]["type"] == "home"
    shown = text_of(published["view"])
    assert "*Jira*: <#CJIRA> and every other channel" in shown
    assert "*Linear*: <#CLINEAR>" in shown
    assert '`/ticket update PROJ-42 status="In Progress" priority=highest`' in shown
    assert "`/invite @ticketbot`" in shown
    assert "*PROJ-42*  priority Medium → High" in shown
    # Opening it reads "My tickets": one page of tickets, and the users (who "me" is: cached).
    read = [c.path for c in harness.sandbox.state.calls()]
    assert read.count("/unified/ticketing/tickets") == 1
    assert set(read) == {"/unified/ticketing/tickets", "/unified/ticketing/users"}
    harness.reset_counts()
    await harness.event(home_opened())
    assert harness.sandbox.state.calls() == []  # opened again within the minute: no API call


async def test_my_tickets_assigned_then_created_open_ones_soonest_due_first(harness: Harness) -> None:
    jira = harness.sandbox.state.profiles["sandbox-jira"]
    harness.slack.state.emails["U0BRUNO"] = "bruno@acme.example"  # every PROJ ticket is Bruno's
    jira.tickets["PROJ-8"]["due_date"] = "2020-01-01"  # To Do, due long ago: overdue
    jira.tickets["PROJ-12"]["due_date"] = (date.today() + timedelta(days=1)).isoformat()
    for ticket in jira.tickets.values():
        if ticket["id"] not in ("PROJ-8", "PROJ-12", "PROJ-16"):
            ticket["assignees"] = []
    jira.tickets["PROJ-20"]["created_by"] = {"id": "ju0003", "name": "Bruno Costa"}
    jira.tickets["PROJ-16"]["status"] = {"id": "js4", "name": "Done"}  # closed: not shown
    await harness.event(home_opened(user="U0BRUNO"))
    view = last(harness.calls("views.publish"))["view"]
    shown = text_of(view)
    assert "*My tickets* in Jira" in shown
    mine = [
        b["text"]["text"] for b in view["blocks"] if b.get("accessory", {}).get("action_id") == ids.SHOW_CARD
    ]
    assert [m.split("|")[1].split(">")[0] for m in mine] == ["PROJ-8", "PROJ-12", "PROJ-20"]
    assert "due 2020-01-01 *(overdue)*" in mine[0] and "*(due soon)*" in mine[1]


async def test_the_messages_tab_publishes_nothing(harness: Harness) -> None:
    await harness.event(home_opened(tab="messages"))
    assert harness.calls("views.publish") == []


async def test_the_home_tab_names_only_the_channels_its_user_is_in_and_all_for_an_admin(
    harness: Harness,
) -> None:
    harness.slack.state.memberships["U0ANA"] = ["CJIRA"]
    await harness.event(home_opened())
    shown = text_of(last(harness.calls("views.publish"))["view"])
    assert "<#CJIRA>" in shown and "<#CLINEAR>" not in shown
    harness.slack.state.admins.add("U0BRUNO")
    harness.slack.state.emails["U0BRUNO"] = "bruno@acme.example"
    await harness.event(home_opened(user="U0BRUNO"))
    shown = text_of(last(harness.calls("views.publish"))["view"])
    assert "<#CJIRA>" in shown and "<#CLINEAR>" in shown


async def test_my_tickets_are_read_again_after_ones_own_update(harness: Harness) -> None:
    from tests.scenarios.payloads import slash_command

    harness.slack.state.emails["U0BRUNO"] = "bruno@acme.example"
    await harness.event(home_opened(user="U0BRUNO"))
    harness.reset_counts()
    await harness.event(home_opened(user="U0BRUNO"))
    assert [c for c in harness.sandbox.state.calls() if c.path == "/unified/ticketing/tickets"] == []
    bruno = {"id": "U0BRUNO", "username": "bruno", "name": "bruno"}
    body = slash_command("update PROJ-8 priority=high", "CJIRA", harness.slack.response_url(), bruno)
    await harness.post(body, "application/x-www-form-urlencoded")
    harness.reset_counts()
    await harness.event(home_opened(user="U0BRUNO"))
    assert len([c for c in harness.sandbox.state.calls() if c.path == "/unified/ticketing/tickets"]) == 1
