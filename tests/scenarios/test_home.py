"""The App Home tab: where the bot works, examples that work here, the user's recent updates."""

from __future__ import annotations

import time
import uuid
from typing import Any

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
    assert harness.sandbox.state.calls() == []  # opening a tab costs no API call


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
