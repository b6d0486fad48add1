"""The card: content, escaping of hostile text, and Block Kit limits for any ticket."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from blocks.card import CardOptions, card_text, ticket_card
from blocks.text import escape, html_to_text, summarise
from bot.domain.models import Change, Ticket
from tests.blocks.limits import check_blocks

STATUSES = [
    {"id": "js1", "name": "To Do"},
    {"id": "js2", "name": "In Progress"},
    {"id": "js4", "name": "Done"},
]
OPTIONS = CardOptions(
    tool="Jira",
    action_value="signed.value",
    url="https://acme.atlassian.net/browse/PROJ-42",
    statuses=STATUSES,
)


def ticket(**fields: Any) -> Ticket:
    return Ticket.model_validate({"id": "PROJ-42", "name": "Login fails", **fields})


def test_card_shows_present_fields_only() -> None:
    blocks = ticket_card(
        ticket(
            status={"id": "js2", "name": "In Progress"},
            assignees=[{"id": "u1", "name": "Ana Lima"}],
            due_date="2026-12-04",
        ),
        OPTIONS,
    )
    check_blocks(blocks)
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "Login fails", "emoji": True},
    }
    assert blocks[1]["text"]["text"] == "*<https://acme.atlassian.net/browse/PROJ-42|PROJ-42>*"
    assert [f["text"] for f in blocks[1]["fields"]] == [
        "*Status*\nIn Progress",
        "*Assignees*\nAna Lima",
        "*Due date*\n2026-12-04",
    ]
    actions = blocks[-1]["elements"]
    assert [e["action_id"] for e in actions] == [
        "ticket_edit_open",
        "ticket_open_url",
        "ticket_status_select",
        "ticket_assign_me",
    ]
    assert actions[1]["text"]["text"] == "Open in Jira"
    assert actions[2]["initial_option"]["value"] == "js2"


def test_changes_line_names_the_actor_and_each_change() -> None:
    when = datetime(2026, 11, 28, 10, 30, tzinfo=UTC)
    options = CardOptions(
        tool="Jira",
        action_value="v",
        changes=[
            Change("status", "status", "To Do", "In Progress"),
            Change("priority", "priority", "Medium", "High"),
        ],
        actor_id="U0ANA",
        changed_at=when,
    )
    context = next(b for b in ticket_card(ticket(), options) if b["type"] == "context")
    assert context["elements"][0]["text"] == (
        f"<@U0ANA> changed status To Do → In Progress, priority Medium → High · "
        f"<!date^{int(when.timestamp())}^{{date_short_pretty}} at {{time}}|2026-11-28 10:30 UTC>"
    )


def test_hostile_text_is_escaped_everywhere() -> None:
    hostile = "<!channel> <!here> <@U0BOSS> & <https://evil.example|click>"
    blocks = ticket_card(
        ticket(name=hostile, description=hostile, tags=[{"id": "t", "name": hostile}], number="<!everyone>"),
        CardOptions(
            tool="Jira", action_value="v", changes=[Change("tags", "tags", hostile, "x")], actor_id="U0ANA"
        ),
    )
    check_blocks(blocks)
    mrkdwn = [t for t in _texts(blocks, "mrkdwn")]
    assert all("<!channel>" not in t and "<!here>" not in t and "<@U0BOSS>" not in t for t in mrkdwn)
    assert all("<https://evil" not in t and "<!everyone>" not in t for t in mrkdwn)
    assert (
        "&lt;!channel&gt; &lt;!here&gt; &lt;@U0BOSS&gt; &amp; &lt;https://evil.example|click&gt;"
        in blocks[2]["text"]["text"]
    )
    assert "&lt;!channel&gt;" in card_text(ticket(name=hostile))


def test_bidi_controls_are_dropped_and_bad_urls_are_not_linked() -> None:
    assert escape("abc\u202egnp.exe") == "abcgnp.exe"
    blocks = ticket_card(ticket(), CardOptions(tool="Jira", action_value="v", url="javascript:alert(1)"))
    assert blocks[1]["text"]["text"] == "*PROJ-42*"
    assert "ticket_open_url" not in str(blocks)


def test_long_lists_are_summarised() -> None:
    tags = [{"id": f"t{i}", "name": f"tag-number-{i}"} for i in range(500)]
    blocks = ticket_card(
        ticket(tags=tags, assignees=[{"id": f"u{i}", "name": f"User {i}"} for i in range(100)]), OPTIONS
    )
    check_blocks(blocks)
    tags_field = next(f["text"] for f in blocks[1]["fields"] if f["text"].startswith("*Tags*"))
    assert tags_field.endswith("more") and len(tags_field) <= 310
    assert summarise(["a", "b", "c"], 100) == "a, b, c"
    assert summarise(["alpha", "beta", "gamma", "delta"], 18) == "alpha, +3 more"


def test_description_comes_from_html_when_plain_is_missing() -> None:
    blocks = ticket_card(
        ticket(html_description="<p>SSO <b>fails</b> for &amp; users</p><ul><li>one</li></ul>"), OPTIONS
    )
    assert blocks[2]["text"]["text"] == "SSO fails for &amp; users\n• one"
    assert html_to_text("<p>a</p><p>b</p>") == "a\nb"


def test_compact_card_for_unfurls_has_no_actions() -> None:
    blocks = ticket_card(
        ticket(description="x" * 1000), CardOptions(tool="Jira", action_value="v", interactive=False)
    )
    assert all(b["type"] != "actions" for b in blocks)
    assert len(blocks) == 2 and "x" * 10 not in str(blocks)  # no description at all


def _texts(node: Any, kind: str) -> list[str]:
    found: list[str] = []
    if isinstance(node, dict):
        if node.get("type") == kind and isinstance(node.get("text"), str):
            found.append(node["text"])
        for value in node.values():
            found += _texts(value, kind)
    elif isinstance(node, list):
        for value in node:
            found += _texts(value, kind)
    return found


refs = st.fixed_dictionaries({"id": st.text(min_size=1, max_size=300), "name": st.text(max_size=300)})
tickets = st.builds(
    lambda **kw: Ticket.model_validate({k: v for k, v in kw.items() if v is not None}),
    id=st.text(min_size=1, max_size=200),
    name=st.none() | st.text(max_size=400),
    number=st.none() | st.text(max_size=200),
    description=st.none() | st.text(max_size=5000),
    html_description=st.none() | st.text(max_size=2000),
    status=st.none() | refs,
    priority=st.none() | refs,
    assignees=st.none() | st.lists(refs, max_size=120),
    tags=st.none() | st.lists(refs, max_size=520),
    due_date=st.none() | st.text(max_size=40),
    team=st.none() | refs,
    ticket_url=st.none() | st.text(max_size=3100),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tickets,
    st.lists(refs, max_size=150),
    st.lists(
        st.builds(Change, st.text(max_size=50), st.text(max_size=500), st.text(max_size=500)), max_size=30
    ),
)
@pytest.mark.slow
def test_any_ticket_stays_within_block_kit_limits(
    t: Ticket, statuses: list[dict[str, str]], changes: list[Change]
) -> None:
    options = CardOptions(
        tool="Jira",
        action_value="v" * 120,
        url=t.ticket_url,
        statuses=statuses,
        changes=changes,
        actor_id="U0ANA",
        shareable=True,
    )
    check_blocks(ticket_card(t, options))
    assert len(card_text(t, changes)) <= 3000 * 2
