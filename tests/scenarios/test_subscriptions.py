"""Channel subscriptions over signed commands and signed webhook deliveries, with the fake Slack:
what a subscription is told (exact lines, threads, counts), what it refuses, and what it never
does (echo a change into the channel it was made from, tell one change twice)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from bot.sandbox import SandboxServer
from bot.sandbox.fake_slack import Call, FakeSlack
from tests.conftest import JIRA_CHANNEL
from tests.scenarios.conftest import Harness, harness_config, last, running
from tests.scenarios.payloads import record_event

OTHER = "C0OTHER"  # routed to Jira by default too
HIGHEST = {"id": "jp1", "name": "Highest"}
IN_PROGRESS = {"id": "js2", "name": "In Progress"}


@pytest.fixture
async def subs(harness: Harness) -> Harness:
    harness.slack.state.memberships["U0ANA"] = [JIRA_CHANNEL, OTHER]
    return harness


def change_in_jira(harness: Harness, ticket: str = "PROJ-42", **fields: Any) -> None:
    harness.sandbox.state.profiles["sandbox-jira"].tickets[ticket].update(fields)


def posts(harness: Harness, channel: str | None = None) -> list[Call]:
    return [c for c in harness.calls("chat.postMessage") if channel is None or c.args["channel"] == channel]


async def subscribe(harness: Harness, text: str, channel: str = JIRA_CHANNEL) -> dict[str, Any]:
    """What the channel (the bot's own post) or the user (a private answer) was told."""
    seen = len(harness.slack.state.calls)
    await harness.command(f"subscribe {text}", channel=channel)
    told = [c for c in harness.slack.state.calls[seen:] if c.method in ("chat.postMessage", "response")]
    return told[-1].args


async def test_a_subscription_is_resolved_saved_listed_and_removed(subs: Harness) -> None:
    said = await subscribe(
        subs, "priority=highest,High -tags=backend changed=priority,status --thread broadcast"
    )
    assert said["channel"] == JIRA_CHANNEL  # said in the channel, by the bot
    assert said["text"] == (
        "<@U0ANA> subscribed this channel to Jira changes: `priority=Highest,High -tags=backend "
        "changed=priority,status --thread broadcast`. `/ticket subscriptions` lists this channel's."
    )
    await subs.command("subscriptions")
    listed = last(subs.calls("response"))
    assert listed["response_type"] == "ephemeral"
    body = listed["blocks"][0]["text"]["text"]
    assert "*This channel's subscriptions* (1 of 20)" in body
    assert (
        "1. `priority=Highest,High -tags=backend changed=priority,status --thread broadcast` in Jira by <@U0ANA>"
        in body
    )
    await subs.command("unsubscribe 2")
    assert last(subs.calls("response"))["text"].startswith("This channel has 1 subscriptions")
    await subs.command("unsubscribe 1")
    assert last(subs.calls("response"))["text"].startswith("<@U0ANA> removed this channel's subscription")
    await subs.command("subscriptions")
    assert last(subs.calls("response"))["text"] == "No subscriptions"


async def test_a_mistake_is_answered_like_an_updates_and_nothing_is_saved(subs: Harness) -> None:
    said = await subscribe(subs, "status=finished")
    assert said["response_type"] == "ephemeral"
    assert said["text"].startswith("status=finished: no status matches 'finished'")
    assert said["text"].endswith("accepted: To Do, In Progress, In Review, Done. Nothing was saved.")
    answer = await subs.command("subscribe colour=red")  # a grammar mistake: answered in the ack
    assert answer.json()["text"].startswith(
        "'colour' is not a field a filter can use. A filter is field=value"
    )
    await subs.command("subscriptions")
    assert last(subs.calls("response"))["text"] == "No subscriptions"
    assert subs.sandbox.state.calls("PATCH") == []


async def test_only_a_member_of_the_channel_may_subscribe_it(subs: Harness) -> None:
    said = await subscribe(subs, "priority=High", channel="C0ELSEWHERE")
    assert said["text"].startswith("Only a member of <#C0ELSEWHERE> can subscribe it; join it first")


async def test_the_first_change_is_a_line_and_later_ones_reply_in_its_thread(subs: Harness) -> None:
    await subscribe(subs, "priority=Highest")
    subs.reset_counts()
    change_in_jira(subs, priority=HIGHEST)
    await subs.truto_event(record_event("updated", "PROJ-42"))
    [first] = posts(subs, JIRA_CHANNEL)
    assert "thread_ts" not in first.args
    line = first.args["blocks"][0]["text"]["text"]
    assert line.startswith("*<https://acme.atlassian.net/browse/PROJ-42|PROJ-42>* Login fails with SSO: ")
    assert "priority Highest" in line and line.endswith("· in Jira")  # first sight: how it is now

    subs.reset_counts()
    change_in_jira(subs, status=IN_PROGRESS)
    await subs.truto_event(record_event("updated", "PROJ-42"))
    [reply] = posts(subs, JIRA_CHANNEL)
    assert reply.args["thread_ts"] == first.answer["ts"]
    assert reply.args["blocks"][0]["text"]["text"].endswith(": status To Do → In Progress · in Jira")

    subs.reset_counts()  # the same delivery again (the API retries): told once
    body = record_event("updated", "PROJ-42")
    await subs.truto_event(body)
    assert posts(subs) == []


async def test_filters_exclude_and_changed_needs_that_field_to_move(subs: Harness) -> None:
    await subscribe(subs, "changed=status")
    await subscribe(subs, "-priority=Highest", channel=OTHER)
    change_in_jira(subs, priority=HIGHEST)
    subs.reset_counts()
    await subs.truto_event(record_event("updated", "PROJ-42"))  # first sight: the baseline
    assert posts(subs, JIRA_CHANNEL) == []  # nothing is known to have changed
    assert posts(subs, OTHER) == []  # excluded: its priority is Highest
    change_in_jira(subs, status=IN_PROGRESS, priority={"id": "jp3", "name": "Medium"})
    await subs.truto_event(record_event("updated", "PROJ-42"))
    [line] = posts(subs, JIRA_CHANNEL)
    assert line.args["blocks"][0]["text"]["text"].endswith(
        ": status To Do → In Progress, priority Highest → Medium · in Jira"
    )
    [other] = posts(subs, OTHER)  # no longer excluded
    assert "status To Do → In Progress" in other.args["text"]


async def test_a_change_through_the_bot_is_not_echoed_into_its_own_channel(subs: Harness) -> None:
    await subscribe(subs, "changed=priority")
    await subscribe(subs, "changed=priority", channel=OTHER)
    await subs.command("update PROJ-42 priority=low")
    subs.reset_counts()
    await subs.truto_event(record_event("updated", "PROJ-42"))  # the tool's echo of that update
    assert posts(subs, JIRA_CHANNEL) == []  # its card said so already
    [line] = posts(subs, OTHER)
    assert line.args["blocks"][0]["text"]["text"].endswith(": priority Medium → Low · by <@U0ANA> from Slack")


async def test_a_deleted_ticket_is_said_once(subs: Harness) -> None:
    await subscribe(subs, "--events deleted")
    subs.reset_counts()
    await subs.truto_event(record_event("deleted", "PROJ-42"))
    [line] = posts(subs, JIRA_CHANNEL)
    assert line.args["text"] == "PROJ-42 deleted"


async def test_limits_per_channel(sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str) -> None:
    config = harness_config(sandbox, fake_slack, clean_redis, subscriptions_per_channel=1)
    fake_slack.state.memberships["U0ANA"] = [JIRA_CHANNEL]
    async with running(config, sandbox, fake_slack) as harness:
        await subscribe(harness, "priority=High")
        said = await subscribe(harness, "priority=Low")
        assert said["text"].startswith(
            "This channel has 1 subscriptions, the most it may; `/ticket unsubscribe N` frees one"
        )


@pytest.fixture
async def without_webhook(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> AsyncIterator[Harness]:
    config = harness_config(sandbox, fake_slack, clean_redis, truto_webhook_secret=None)
    async with running(config, sandbox, fake_slack) as harness:
        yield harness


async def test_without_a_webhook_subscribe_says_why_and_how_to_fix_it(without_webhook: Harness) -> None:
    said = await subscribe(without_webhook, "priority=High")
    assert said["text"].startswith("Subscriptions need the unified API's webhook, and this bot has none")
    assert "ticketbot webhooks register" in said["text"] and said["text"].endswith("Nothing was saved.")


async def test_a_channel_the_bot_cannot_post_in_keeps_no_subscription(subs: Harness) -> None:
    subs.slack.state.fail_next("chat.postMessage", error="not_in_channel")
    said = await subscribe(subs, "priority=High")
    assert said["text"] == (
        f"I can't post in <#{JIRA_CHANNEL}>, so I could not tell it of any change: invite me first "
        "(`/invite @ticketbot`; a private channel needs it). Nothing was saved."
    )
    await subs.command("subscriptions")
    assert last(subs.calls("response"))["text"] == "No subscriptions"


async def test_subscribe_help_explains_the_filters(subs: Harness) -> None:
    await subs.command("subscribe help")
    said = last(subs.calls("response"))["text"]
    assert said.startswith(
        "*/ticket subscribe* tells this channel when tickets change. A filter is field=value"
    )
    # Examples in Jira's own values (its priorities), never another tool's (P0, P1).
    assert "`/ticket subscribe priority=Highest,High`" in said and "P0" not in said


async def test_subscribe_alone_opens_a_form_that_subscribes_the_channel(subs: Harness) -> None:
    from blocks import ids
    from tests.scenarios.payloads import view_submission

    await subs.command("subscribe")
    [opened] = subs.calls("views.open")
    view = opened.args["view"]
    assert [b["label"]["text"] for b in view["blocks"]] == [
        "Which Jira tickets",
        "When",
        "Later changes of a ticket",
        "Or one digest a day, at",
    ]

    def state(filter_text: str) -> dict[str, Any]:
        everything = [{"value": e} for e in ("created", "updated", "closed", "deleted")]
        return {
            ids.SUB_FILTER: {ids.SETTINGS_VALUE: {"type": "plain_text_input", "value": filter_text}},
            ids.SUB_EVENTS: {
                ids.SETTINGS_VALUE: {"type": "multi_static_select", "selected_options": everything}
            },
            ids.SUB_THREAD: {
                ids.SETTINGS_VALUE: {"type": "static_select", "selected_option": {"value": "broadcast"}}
            },
            ids.SUB_DIGEST: {ids.SETTINGS_VALUE: {"type": "timepicker", "selected_time": None}},
        }

    wrong = await subs.interact(view_submission(view, state("colour=red")))
    assert wrong.json()["errors"][ids.SUB_FILTER].startswith("'colour' is not a field a filter can use")
    subs.reset_counts()
    await subs.interact(view_submission(view, state("priority=High")))
    [said] = posts(subs, JIRA_CHANNEL)
    assert said.args["text"].startswith(
        "<@U0ANA> subscribed this channel to Jira changes: `priority=High --thread broadcast`"
    )


async def test_a_digest_collects_the_matches_and_posts_them_once_a_day(subs: Harness) -> None:
    from datetime import UTC, datetime, timedelta

    from handlers.jobs import digests

    said = await subscribe(subs, "priority=Highest --digest daily 09:00")
    assert "`priority=Highest --digest daily 09:00`" in said["text"]
    subs.reset_counts()
    change_in_jira(subs, priority=HIGHEST)
    await subs.truto_event(record_event("updated", "PROJ-42"))
    change_in_jira(subs, status=IN_PROGRESS)
    await subs.truto_event(record_event("updated", "PROJ-42"))
    assert posts(subs) == []  # collected, not posted

    tomorrow = datetime.now(UTC) + timedelta(days=1)
    at_nine = tomorrow.replace(hour=9, minute=5, second=0, microsecond=0)
    assert await digests.post_due(subs.bot.deps, subs.bot.workspace, now=at_nine) == 1
    [digest] = posts(subs, JIRA_CHANNEL)
    assert digest.args["text"] == "1 tickets matched since the last digest"
    body = digest.args["blocks"][0]["text"]["text"]
    assert body.startswith(
        "*1 tickets matched `priority=Highest --digest daily 09:00` since the last digest*"
    )
    assert "PROJ-42" in body and "status To Do → In Progress" in body  # the ticket's latest line
    assert await digests.post_due(subs.bot.deps, subs.bot.workspace, now=at_nine) == 0  # once
    assert await digests.post_due(subs.bot.deps, subs.bot.workspace, now=at_nine + timedelta(days=1)) == 0


async def test_thread_off_keeps_one_line_per_ticket_up_to_date(subs: Harness) -> None:
    await subscribe(subs, "changed=status --thread off")
    change_in_jira(subs, priority=HIGHEST)
    await subs.truto_event(record_event("updated", "PROJ-42"))  # the baseline
    subs.reset_counts()
    change_in_jira(subs, status=IN_PROGRESS)
    await subs.truto_event(record_event("updated", "PROJ-42"))
    [line] = posts(subs, JIRA_CHANNEL)
    change_in_jira(subs, status={"id": "js3", "name": "In Review"})
    await subs.truto_event(record_event("updated", "PROJ-42"))
    assert posts(subs, JIRA_CHANNEL) == [line]  # no second line…
    [update] = subs.calls("chat.update")  # …the first one, updated
    assert update.args["ts"] == line.answer["ts"]
    assert update.args["blocks"][0]["text"]["text"].endswith(": status In Progress → In Review · in Jira")


async def test_another_account_by_name_and_who_may_manage_subscriptions(
    sandbox: SandboxServer, fake_slack: FakeSlack, clean_redis: str
) -> None:
    from bot.domain.accounts import Permissions, UpdateRule
    from tests.conftest import JIRA

    guarded = JIRA.model_copy(update={"permissions": Permissions(subscribe=UpdateRule(users=("U0BRUNO",)))})
    config = harness_config(sandbox, fake_slack, clean_redis, jira=guarded)
    fake_slack.state.memberships["U0ANA"] = [JIRA_CHANNEL]
    async with running(config, sandbox, fake_slack) as harness:
        refused = await subscribe(harness, "priority=High")
        assert refused["text"].startswith(
            "You may not change this channel's Jira subscriptions; an admin can allow you "
            "(permissions.subscribe of the jira account in the ticketbot config)."
        )
        unknown = await subscribe(harness, "priority=High --account github")
        assert unknown["text"].startswith("--account github: no account named 'github' (known: jira, linear)")
        said = await subscribe(harness, "priority=Urgent --account linear")
        assert said["text"].startswith("<@U0ANA> subscribed this channel to Linear changes: `priority=Urgent")
        harness.reset_counts()
        harness.sandbox.state.profiles["sandbox-linear"].tickets["ENG-7"]["priority"] = {
            "id": "lp1",
            "name": "Urgent",
        }
        await harness.truto_event(record_event("updated", "ENG-7", account="sandbox-linear"))
        [line] = posts(harness, JIRA_CHANNEL)
        assert "ENG-7" in line.args["text"]


async def test_the_home_tab_lists_adds_and_removes_subscriptions(subs: Harness) -> None:
    from blocks import ids
    from tests.scenarios.payloads import block_actions, view_submission
    from tests.scenarios.test_home import home_opened

    await subscribe(subs, "priority=High")
    subs.reset_counts()
    await subs.event(home_opened("U0ANA"))
    blocks = last(subs.calls("views.publish"))["view"]["blocks"]
    [listed] = [b for b in blocks if (b.get("accessory") or {}).get("action_id") == ids.SUB_REMOVE]
    assert listed["text"]["text"] == f"<#{JIRA_CHANNEL}> `priority=High` in Jira"

    def click(action_id: str, value: str) -> dict[str, Any]:
        payload = block_actions(
            {"action_id": action_id, "block_id": "b", "type": "button", "value": value},
            channel="D0HOME",
            response_url=subs.slack.response_url(),
        )
        for key in ("container", "channel", "response_url"):
            payload.pop(key)  # a Home tab button
        return payload

    await subs.interact(click(ids.SUB_ADD, "add"))
    form = last(subs.calls("views.open"))["view"]
    assert form["blocks"][0]["label"]["text"] == "Channel"
    state = {
        ids.SUB_CHANNEL: {
            ids.SETTINGS_VALUE: {"type": "conversations_select", "selected_conversation": OTHER}
        },
        ids.SUB_FILTER: {ids.SETTINGS_VALUE: {"type": "plain_text_input", "value": "changed=status"}},
        ids.SUB_EVENTS: {
            ids.SETTINGS_VALUE: {"type": "multi_static_select", "selected_options": [{"value": "updated"}]}
        },
        ids.SUB_THREAD: {ids.SETTINGS_VALUE: {"type": "static_select", "selected_option": {"value": "on"}}},
        ids.SUB_DIGEST: {ids.SETTINGS_VALUE: {"type": "timepicker", "selected_time": None}},
    }
    subs.reset_counts()
    await subs.interact(view_submission(form, state))
    [said] = posts(subs, OTHER)
    assert said.args["text"].startswith(
        "<@U0ANA> subscribed this channel to Jira changes: `changed=status --events updated`"
    )

    subs.reset_counts()
    await subs.interact(click(ids.SUB_REMOVE, listed["accessory"]["value"]))
    [removed] = posts(subs, JIRA_CHANNEL)
    assert removed.args["text"] == "<@U0ANA> removed this channel's subscription `priority=High`."
    blocks = last(subs.calls("views.publish"))["view"]["blocks"]
    shown = [
        b["text"]["text"] for b in blocks if (b.get("accessory") or {}).get("action_id") == ids.SUB_REMOVE
    ]
    assert shown == [f"<#{OTHER}> `changed=status --events updated` in Jira"]
