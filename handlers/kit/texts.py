"""What users read when something is refused or fails, in one place (the cards and previews
are built in blocks/; the grammar's and the service's answers live beside their rules)."""

from __future__ import annotations

from blocks.text import sentence

SOMETHING_WENT_WRONG = "Something went wrong on our side; nothing more was changed."
FORGED_BUTTON = "This button is not valid any more (it may be from an old or altered message)."
RETRY_GONE = "This update was already retried, or it expired; please make the change again."
PREVIEW_GONE = "This preview is gone (applied, cancelled, or more than an hour old)."
FORM_EXPIRED = "This form can't be used any more; open the ticket again."
BUSY = (
    "ticketbot can't take this right now: its store is unreachable and this process already holds "
    "as many waiting updates as it may. Nothing was changed; please try again in a minute."
)


BULK_PLAN_IN_FLIGHT = (
    "You already have a bulk update being planned: its preview (or its message) comes first. "
    "Nothing was done with this one; send it again once that one is shown."
)


def bulk_over_quota(tickets: int, per_minute: int) -> str:
    return (
        f"A bulk update counts one request per ticket it reads: these {tickets} tickets would take "
        f"you past {per_minute} requests in a minute, the most one person may send. Nothing was done "
        "with this one; try fewer tickets, or wait a minute."
    )


def too_many_requests(per_minute: int) -> str:
    return (
        f"You have sent {per_minute} requests in the last minute, the most one person may send; "
        "nothing was done with this one. Please wait a minute and try again."
    )


def refusal(message: str) -> str:
    """A refusal of the bot's own (before any call) as a person reads it: a sentence, then
    "Nothing was sent." (unless it says so already, or that nothing was done or changed)."""
    said = sentence(message)
    lowered = said.lower()
    if any(words in lowered for words in ("nothing was sent", "nothing was done", "nothing was changed")):
        return said
    stop = "" if said.endswith((".", "!", "?")) else "."
    return f"{said}{stop} Nothing was sent."
