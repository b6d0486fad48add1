"""Link unfurls: compact cards, at most 5, cached for a minute, retried deliveries ignored."""

from __future__ import annotations

from tests.conftest import JIRA_CHANNEL
from tests.scenarios.conftest import Harness, last
from tests.scenarios.payloads import link_shared

URL = "https://acme.atlassian.net/browse/PROJ-42"


async def test_links_unfurl_as_compact_cards(harness: Harness) -> None:
    response = await harness.event(link_shared([URL, "https://example.com/other"], channel=JIRA_CHANNEL))
    assert response.status_code == 200
    unfurl = last(harness.calls("chat.unfurl"))
    assert unfurl["channel"] == JIRA_CHANNEL and unfurl["ts"] == "1732770000.000300"
    assert list(unfurl["unfurls"]) == [URL]
    blocks = unfurl["unfurls"][URL]["blocks"]
    assert blocks[0]["text"]["text"] == "Login fails with SSO"
    assert all(b["type"] != "actions" for b in blocks)
    # Compact: title, status, assignees and priority; no description, no other field.
    assert [f["text"].split("\n")[0] for f in blocks[1]["fields"]] == [
        "*Status*",
        "*Priority*",
        "*Assignees*",
    ]
    assert len(blocks) == 2


async def test_at_most_five_tickets_per_message(harness: Harness) -> None:
    urls = [f"https://acme.atlassian.net/browse/PROJ-{n}" for n in range(1, 9)]
    await harness.event(link_shared(urls, channel=JIRA_CHANNEL))
    assert len(last(harness.calls("chat.unfurl"))["unfurls"]) == 5
    assert len(harness.sandbox.state.calls("GET", "/tickets/")) == 5


async def test_a_retried_delivery_is_not_processed_twice(harness: Harness) -> None:
    envelope = link_shared([URL], channel=JIRA_CHANNEL, event_id="Ev0SAME")
    await harness.event(envelope)
    response = await harness.event(envelope, retry_num=1)
    assert response.status_code == 200
    assert len(harness.calls("chat.unfurl")) == 1


async def test_the_same_ticket_within_a_minute_comes_from_the_cache(harness: Harness) -> None:
    await harness.event(link_shared([URL], channel=JIRA_CHANNEL))
    await harness.event(link_shared([URL], channel=JIRA_CHANNEL))
    assert len(harness.calls("chat.unfurl")) == 2
    assert len(harness.sandbox.state.calls("GET", "/tickets/PROJ-42")) == 1


async def test_hostile_ticket_text_cannot_ping(harness: Harness) -> None:
    ticket = harness.sandbox.state.profiles["sandbox-jira"].tickets["PROJ-42"]
    ticket["status"] = {"id": "js9", "name": "<!channel> look <@U0ANA> & <https://evil.example|click>"}
    await harness.event(link_shared([URL], channel=JIRA_CHANNEL))
    text = str(last(harness.calls("chat.unfurl"))["unfurls"])
    assert "<!channel>" not in text and "<@U0ANA>" not in text and "<https://evil" not in text
    assert "&lt;!channel&gt; look &lt;@U0ANA&gt; &amp; &lt;https://evil.example|click&gt;" in text
