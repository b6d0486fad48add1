"""`/ticket list`: the filter resolved as an update's values, the tickets read through the API
page by page, ten shown a page with Show card, page turns that read nothing again, mistakes
answered with nothing read."""

from __future__ import annotations

import time
from typing import Any

from blocks import ids
from tests.conftest import JIRA_CHANNEL
from tests.scenarios.conftest import Harness, last
from tests.scenarios.payloads import block_actions

LISTED = "/unified/ticketing/tickets"


def listings(harness: Harness) -> list[Any]:
    return [r for r in harness.sandbox.state.calls("GET") if r.path == LISTED]


def rows(message: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in message["blocks"] if b["type"] == "section" and "accessory" in b]


def turn(message: dict[str, Any], label: str) -> dict[str, Any]:
    [actions] = [b for b in message["blocks"] if b["type"] == "actions"]
    return next(e for e in actions["elements"] if e["text"]["text"] == label)


def click(harness: Harness, element: dict[str, Any], user: str = "U0ANA") -> dict[str, Any]:
    payload = block_actions(
        {
            "action_id": element["action_id"],
            "block_id": "b",
            "type": "button",
            "value": element["value"],
            "action_ts": f"{time.time():.6f}",
        },
        channel=JIRA_CHANNEL,
        response_url=harness.slack.response_url(),
        user={"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T0TEAM"},
    )
    return payload


async def test_a_filtered_list_a_page_at_a_time_last_updated_first(harness: Harness) -> None:
    jira = harness.sandbox.state.profiles["sandbox-jira"]
    jira.tickets["PROJ-6"]["updated_at"] = "2026-12-05T10:00:00Z"  # the newest: first
    await harness.command('list status="In Review" -tags=infra')
    [listed] = listings(harness)
    assert (
        dict(listed.query)["limit"] == "100" and dict(listed.query)["integrated_account_id"] == "sandbox-jira"
    )
    first = last(harness.calls("response"))
    assert first["response_type"] == "ephemeral"
    assert first["blocks"][0]["text"]["text"] == (
        '*14 tickets* in Jira matching `status="In Review" -tags=infra`, last updated first'
    )
    shown = rows(first)
    assert len(shown) == 10
    assert shown[0] == (
        "*<https://acme.atlassian.net/browse/PROJ-6|PROJ-6>* Ticket 6: Search improvements\n"
        "In Review · Medium · Bruno Costa"
    )
    assert first["blocks"][-1]["elements"][0]["text"] == "Page 1 of 2"
    button = next(b for b in first["blocks"] if b["type"] == "section" and "accessory" in b)["accessory"]
    assert button["action_id"] == ids.SHOW_CARD and button["text"]["text"] == "Show card"

    harness.reset_counts()
    await harness.interact(click(harness, turn(first, "Next page")))
    second = last(harness.calls("response"))
    assert second["replace_original"] is True and len(rows(second)) == 4
    assert listings(harness) == []  # a page turn reads nothing again
    await harness.interact(click(harness, turn(second, "Previous page")))
    assert (
        rows(last(harness.calls("response"))) == shown[:10]
        or len(rows(last(harness.calls("response")))) == 10
    )


async def test_show_card_from_a_list_gives_the_card_with_its_quick_actions(harness: Harness) -> None:
    await harness.command('list "login fails"')
    found = last(harness.calls("response"))
    assert found["blocks"][0]["text"]["text"].startswith('*1 ticket* in Jira matching `"login fails"`')
    [section] = [b for b in found["blocks"] if b["type"] == "section" and "accessory" in b]
    harness.reset_counts()
    await harness.interact(click(harness, section["accessory"]))
    card = last(harness.calls("response"))
    actions = {e["action_id"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]}
    assert {ids.EDIT_BUTTON, ids.ASSIGN_ME, ids.SHARE} <= actions and card["replace_original"] is False


async def test_dates_overdue_and_the_creator(harness: Harness) -> None:
    jira = harness.sandbox.state.profiles["sandbox-jira"]
    jira.tickets["PROJ-3"]["due_date"] = "2020-01-01"  # due long ago, but Done
    jira.tickets["PROJ-4"]["due_date"] = "2020-01-01"  # overdue (To Do)
    jira.tickets["PROJ-5"]["created_by"] = {"id": "ju0001", "name": "Ana Lima"}
    await harness.command("list overdue")
    assert [r.split("|")[1].split(">")[0] for r in rows(last(harness.calls("response")))] == ["PROJ-4"]
    assert "due 2020-01-01 (overdue)" in rows(last(harness.calls("response")))[0]
    harness.slack.state.emails["U0ANA"] = "ana@acme.example"
    await harness.command("find created_by=me")
    assert [r.split("|")[1].split(">")[0] for r in rows(last(harness.calls("response")))] == ["PROJ-5"]
    await harness.command("list updated>=2026-12-01")
    assert last(harness.calls("response"))["blocks"][0]["text"]["text"].startswith("*0 tickets* in Jira")


async def test_mistakes_are_answered_and_nothing_is_read(harness: Harness) -> None:
    await harness.command("list priority=Urgentest")
    answer = last(harness.calls("response"))["text"]
    assert "priority=Urgentest" in answer and "Highest" in answer
    answer = (await harness.command("list statuss=done")).json()["text"]
    assert "'statuss' is not a field a list can filter on" in answer
    answer = (await harness.command("list checkout")).json()["text"]
    assert "'checkout' is not a filter word" in answer and 'in quotes: "checkout"' in answer
    assert listings(harness) == []


async def test_a_page_turn_is_the_asker_s_own(harness: Harness) -> None:
    await harness.command("list")
    first = last(harness.calls("response"))
    harness.reset_counts()
    await harness.interact(click(harness, turn(first, "Next page"), user="U0BRUNO"))
    assert last(harness.calls("response"))["text"].startswith("This list is more than 10 minutes old")
    forged = dict(turn(first, "Next page"))
    forged["value"] = forged["value"][:-3] + "xyz"
    await harness.interact(click(harness, forged))
    assert "not valid any more" in str(last(harness.calls("response")))


async def test_update_all_hands_the_list_to_the_bulk_update_with_its_preview(harness: Harness) -> None:
    from tests.scenarios.payloads import view_submission
    from tests.scenarios.test_bulk import press

    await harness.command('list status="In Review" priority=Medium "4"')  # PROJ-14, 34, 46, 54
    found = last(harness.calls("response"))
    assert found["blocks"][0]["text"]["text"].startswith("*4 tickets* in Jira")
    everyone = turn(found, "Update all 4")
    harness.reset_counts()
    await harness.interact(click(harness, everyone))
    view = last(harness.calls("views.open"))["view"]
    assert view["callback_id"] == ids.LIST_UPDATE_VIEW
    mistake = view_submission(
        view,
        {
            ids.LIST_UPDATE_FIELDS: {
                ids.SETTINGS_VALUE: {"type": "plain_text_input", "value": "priority high"}
            }
        },
    )
    refused = await harness.interact(mistake)
    said = refused.json()["errors"][ids.LIST_UPDATE_FIELDS]
    assert "priority" in said and "PROJ-14 PROJ-34" not in said  # the tickets not spelt out
    good = view_submission(
        view,
        {
            ids.LIST_UPDATE_FIELDS: {
                ids.SETTINGS_VALUE: {"type": "plain_text_input", "value": "priority=high"}
            }
        },
    )
    assert (await harness.interact(good)).content == b""
    [preview] = harness.calls("chat.postEphemeral")
    assert preview.args["user"] == "U0ANA" and preview.args["channel"] == JIRA_CHANNEL
    assert "Preview of 4 tickets" in str(preview.args["blocks"])
    assert harness.sandbox.state.calls("PATCH") == []  # nothing sent before Apply
    await press(harness, preview.args["blocks"], ids.PREVIEW_APPLY)
    patched = {c.path.rsplit("/", 1)[1]: c.body for c in harness.sandbox.state.calls("PATCH")}
    assert sorted(patched) == ["PROJ-14", "PROJ-34", "PROJ-46", "PROJ-54"]
    assert all(body == {"priority": {"id": "jp2", "name": "High"}} for body in patched.values())


async def test_more_than_a_bulk_update_takes_offers_no_update_all(harness: Harness) -> None:
    await harness.command("list")  # 60 tickets: more than 50
    found = last(harness.calls("response"))
    assert all(
        e["action_id"] != ids.LIST_UPDATE_ALL
        for b in found["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    )
    assert "Narrow the filter to 50 tickets or fewer to update them all at once." in str(found["blocks"])
