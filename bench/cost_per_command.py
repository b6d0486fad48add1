"""Cost per command: parse + resolve + validate + render the card for a 6-field update, in
process, with warm lists and a recently seen ticket (no I/O but the in-memory cache).

    python bench/cost_per_command.py [--profile]

Prints µs per command; with --profile, where the time goes (cProfile, top entries).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import io
import pstats
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import save, sized
from blocks.card import CardOptions, card_text, ticket_card
from bot.domain.accounts import Account
from bot.domain.actors import Actor
from bot.domain.commands import UpdateCommand
from bot.domain.grammar import parse
from bot.domain.models import Ticket
from bot.ops.config import AppConfig, Settings
from bot.sandbox.profiles import build_profiles
from bot.service.lookups import Lookups
from bot.service.snapshots import Snapshots
from bot.service.tickets import TicketService
from bot.service.updates import changes_between
from bot.store.cache import Cache, MemoryBackend

TEXT = 'update PROJ-42 status="In Progress" priority=high assignee=ana@acme.example tags+=backend due=friday team=plat'


class OfflineClient:
    """Answers lists from the sandbox's data in memory: the benchmark measures our code only."""

    def __init__(self) -> None:
        self.profile = build_profiles()["sandbox-jira"]

    async def list_all(self, account: Account, resource: str, **_: Any) -> Any:
        for item in self.profile.lists.get(resource, []):
            yield item

    async def get_ticket(self, account: Account, ticket_id: str) -> Ticket:
        return Ticket.model_validate(self.profile.tickets[ticket_id])


async def run(iterations: int) -> float:
    account = Account(name="jira", integrated_account_id="sandbox-jira", tool="Jira")
    config = AppConfig(settings=Settings(), accounts={"jira": account}, channels={}, default_account="jira")
    cache = Cache(MemoryBackend())
    client: Any = OfflineClient()
    service = TicketService(config, client, Lookups(client, cache), Snapshots(cache))
    actor = Actor(slack_user_id="U0ANA", name="ana", email="ana@acme.example")
    statuses = client.profile.lists["ticket_status"]

    async def once() -> None:
        command = parse(TEXT, link_patterns=account.link_patterns)
        assert isinstance(command, UpdateCommand)
        plan = await service.plan(command, actor, None)  # resolve + validate (+ the merge for tags+=)
        body = plan.update.to_body()
        after = Ticket.model_validate(
            {**plan.before.to_json(), **body, "status": {"id": "js2", "name": "In Progress"}}
        )
        changes = changes_between(plan.targets, plan.before, after, plan.labels)
        options = CardOptions(
            tool="Jira",
            action_value="v",
            url=after.web_url,
            statuses=statuses,
            changes=changes,
            actor_id="U0ANA",
        )
        ticket_card(after, options)
        card_text(after, changes)

    for _ in range(50):
        await once()
    started = time.perf_counter()
    for _ in range(iterations):
        await once()
    return (time.perf_counter() - started) / iterations * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--iterations", type=int, default=sized(2000, 50))
    parser.add_argument("--smoke", action="store_true", help="tiny sizes, a few seconds (CI)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    micros = asyncio.run(run(args.iterations))
    print(f"{TEXT}\n→ {micros:.0f} µs per command (parse, resolve, validate, render the card)")
    profile_text = ""
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        asyncio.run(run(500))
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(18)
        profile_text = out.getvalue()
        print(profile_text)
    save("cost_per_command", {"microseconds": round(micros), "command": TEXT})


if __name__ == "__main__":
    main()
