"""`/ticket remind due`: each morning at 09:00 of the person's own time zone, one DM of the open
tickets assigned to them that are due within two days or overdue; nothing when there are none;
once a morning; off when asked."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from handlers.jobs import reminders
from tests.scenarios.conftest import Harness, last
from tests.scenarios.payloads import slash_command

BRUNO = {"id": "U0BRUNO", "username": "bruno", "name": "bruno"}


async def as_bruno(harness: Harness, text: str) -> None:
    body = slash_command(text, "CJIRA", harness.slack.response_url(), BRUNO)
    await harness.post(body, "application/x-www-form-urlencoded")


def dms(harness: Harness, user: str) -> list[dict[str, object]]:
    return [c.args for c in harness.calls("chat.postMessage") if c.args["channel"] == user]


async def test_a_morning_reminder_in_the_persons_time_zone_once(harness: Harness) -> None:
    jira = harness.sandbox.state.profiles["sandbox-jira"]
    harness.slack.state.emails["U0BRUNO"] = "bruno@acme.example"  # every PROJ ticket is Bruno's
    harness.slack.state.time_zones["U0BRUNO"] = "America/Sao_Paulo"  # UTC-3
    jira.tickets["PROJ-8"]["due_date"] = "2020-01-01"
    jira.tickets["PROJ-12"]["due_date"] = (date.today() + timedelta(days=1)).isoformat()
    jira.tickets["PROJ-16"]["due_date"] = (date.today() + timedelta(days=10)).isoformat()
    await as_bruno(harness, "remind due")
    said = last(harness.calls("response"))["text"]
    assert said.startswith(
        "Reminders are on: each morning at 09:00 (America/Sao_Paulo, your Slack time zone)"
    )
    deps, workspace = harness.bot.deps, harness.bot.workspace
    [person] = await reminders.store_of(deps).everyone()
    there = ZoneInfo("America/Sao_Paulo")
    asked = datetime.fromtimestamp(person.since, there)
    first = asked.replace(hour=9, minute=0, second=0, microsecond=0)
    if first <= asked:
        first += timedelta(days=1)  # the first morning after the request
    before_nine = (first - timedelta(minutes=5)).astimezone(UTC)
    harness.reset_counts()
    # The last morning before the request is not reminded of: nothing until the next one.
    assert await reminders.send_due(deps, workspace, now=before_nine) == 0
    after_nine = before_nine + timedelta(minutes=10)
    assert await reminders.send_due(deps, workspace, now=after_nine) == 1
    [dm] = dms(harness, "U0BRUNO")
    text = str(dm["blocks"])
    assert "*2 tickets* assigned to you in Jira due within two days or overdue" in text
    assert "PROJ-8" in text and "*(overdue)*" in text and "PROJ-12" in text and "*(due soon)*" in text
    assert "PROJ-16" not in text
    assert await reminders.send_due(deps, workspace, now=after_nine + timedelta(hours=1)) == 0  # once
    await as_bruno(harness, "remind off")
    assert await reminders.send_due(deps, workspace, now=after_nine + timedelta(days=1)) == 0


async def test_nothing_due_no_dm(harness: Harness) -> None:
    harness.slack.state.emails["U0BRUNO"] = "bruno@acme.example"
    await as_bruno(harness, "remind due")
    harness.reset_counts()
    noon = datetime.now(UTC) + timedelta(days=1, hours=1)  # a morning has come, anywhere
    assert await reminders.send_due(harness.bot.deps, harness.bot.workspace, now=noon) == 0
    assert dms(harness, "U0BRUNO") == []


async def test_remind_takes_due_or_off(harness: Harness) -> None:
    answer = (await harness.command("remind weekly")).json()["text"]
    assert answer.startswith("Remind takes due or off. /ticket remind due: each morning, a DM")
