"""The README's pictures of what people see in Slack are drawn from the real builders: this
test fails when a builder changes and the README does not (run this file with `-s` and
PRINT_PICTURES=1 to print them again)."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from blocks.card import CardOptions, compact_blocks, said_line, ticket_card
from blocks.home import RecentUpdate, Routing, home_view
from blocks.messages import notice_blocks
from bot.domain.models import Change, Ticket
from tests.blocks.limits import check_blocks
from tests.blocks.rendered import as_text

README = (Path(__file__).resolve().parents[2] / "docs" / "usage.md").read_text()
NAMES = {"U0ANA": "ana", "C0ENG": "eng", "C0SUPPORT": "support"}
TICKET = Ticket.model_validate(
    {
        "id": "PROJ-42",
        "name": "Login fails with SSO",
        "description": "Users on Okta get a 500 after the redirect.",
        "status": {"id": "js2", "name": "In Progress"},
        "priority": {"id": "p2", "name": "High"},
        "assignees": [{"id": "u1", "name": "Ana Lima"}],
        "due_date": "2026-12-04",
        "tags": [{"id": "t1", "name": "backend"}],
    }
)
OPTIONS = CardOptions(
    tool="Jira",
    action_value="signed",
    url="https://acme.atlassian.net/browse/PROJ-42",
    statuses=[{"id": "js1", "name": "To Do"}, {"id": "js2", "name": "In Progress"}],
    changes=[
        Change("priority", "priority", "Medium", "High"),
        Change("due_date", "due date", "—", "2026-12-04"),
    ],
    actor_id="U0ANA",
    changed_at=datetime(2026, 11, 29, 10, 30, tzinfo=UTC),
    undo_value="signed-undo",
)


def pictures() -> dict[str, str]:
    home = home_view(
        [Routing("Jira", ["C0ENG"], default=True), Routing("Freshdesk", ["C0SUPPORT"], default=False)],
        [
            'update PROJ-42 status="In Progress" priority=High',
            "update PROJ-42 assignee=me due=friday",
            "show PROJ-42",
        ],
        [RecentUpdate("2026-11-29T10:30:00Z", "PROJ-42", "priority Medium → High, due date — → 2026-12-04")],
    )
    shown_alone = CardOptions(
        tool="Jira", action_value="signed", url=OPTIONS.url, statuses=OPTIONS.statuses, shareable=True
    )
    done = TICKET.model_copy(
        update={"status": Ticket.model_validate({"id": "x", "status": {"id": "js4", "name": "Done"}}).status}
    )
    later = replace(
        OPTIONS,
        said=said_line(TICKET, OPTIONS, compact=True),
        since=["Done"],
        updated_in="Jira",
        updated_at=datetime(2026, 11, 29, 11, 5, tzinfo=UTC),
    )
    shown = {
        "compact line": compact_blocks(TICKET, OPTIONS),
        "live line": compact_blocks(done, later),
        "show card": ticket_card(TICKET, shown_alone),
        "card": ticket_card(TICKET, OPTIONS),
        "no-op": notice_blocks("PROJ-42 already has priority High; nothing was sent."),
        "home": home["blocks"],
    }
    for blocks in shown.values():
        check_blocks(blocks)
    return {name: as_text(blocks, NAMES) for name, blocks in shown.items()}


@pytest.mark.parametrize("name", ["compact line", "live line", "show card", "card", "no-op", "home"])
def test_the_readme_shows_what_the_builders_draw(name: str) -> None:
    picture = pictures()[name]
    if os.environ.get("PRINT_PICTURES"):
        print(f"\n--- {name}\n{picture}")
    assert f"```\n{picture}\n```" in README, f"the README's picture of the {name} is out of date"
