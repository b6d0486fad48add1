"""An account's emoji reactions checked as the updates they stand for: each value resolved
against the tool's lists (priority=P0 where the tool has no P0 is a mistake), nothing sent.
Values that name the person reacting (`assignee=me`) can only be resolved for that person and
are left to the reaction itself."""

from __future__ import annotations

from bot.domain.accounts import Account
from bot.domain.actors import Actor
from bot.domain.commands import UpdateCommand
from bot.domain.errors import UserInputError
from bot.domain.grammar import parse
from bot.service.tickets import TicketService
from bot.truto.errors import TrutoError

CHECKER = Actor(name="ticketbot check")


async def reaction_mistakes(service: TicketService, account: Account) -> list[str]:
    """One line per reaction whose update the tool would refuse ("fire: priority: …")."""
    mistakes = []
    for emoji, words in account.reactions.items():
        command = parse(f"update REACT-1 {words}")
        assert isinstance(command, UpdateCommand)
        for assignment in command.assignments:
            if any(getattr(v, "kind", None) == "me" for v in assignment.values):
                continue
            try:
                await service.resolver.value(account, assignment, CHECKER)
            except UserInputError as exc:
                mistakes.append(f":{emoji}: {words}: {exc}")
            except TrutoError:
                return mistakes  # the tool cannot be asked now: nothing more to say
    return mistakes
