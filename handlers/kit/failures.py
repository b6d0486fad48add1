"""How a failed job is put into words: one wording for every place it is told (a private
answer in Slack, a Workflow Builder step's error)."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from bot.domain.errors import Notice, UserInputError
from bot.truto.errors import NotFound, RateLimited, TrutoError, Unavailable
from handlers.kit import texts
from handlers.kit.surface import new_error_id, user_message

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Failure:
    text: str
    notice: bool = False  # not a problem (a Notice): said plainly
    retryable: bool = False  # a timeout, a 5xx, a rate limit: trying again can help
    unconfirmed: bool = False  # whether the change landed upstream is unknown
    error_id: str | None = None  # an unexpected error, logged under this id


def failure_of(job_id: str, ticket: str | None, exc: Exception) -> Failure:
    """The user's mistake, the tool's refusal, or a failure trying again can help."""
    if isinstance(exc, Notice):
        return Failure(str(exc), notice=True)
    if isinstance(exc, UserInputError):
        return Failure(texts.refusal(str(exc)))
    if isinstance(exc, TrutoError):
        what = ticket or "The ticket"
        if isinstance(exc, Unavailable):
            # A timeout or a 5xx says nothing about whether the change landed upstream.
            text = f"{what}: the update could not be confirmed. {exc.user_message}"
            return Failure(text, retryable=True, unconfirmed=True)
        if isinstance(exc, NotFound):  # "No PROJ-9999 in Jira.": the ticket named once
            return Failure(exc.user_message)
        return Failure(f"{what} was not updated: {exc.user_message}", retryable=isinstance(exc, RateLimited))
    error_id = new_error_id()
    log.error("job %s failed: error %s", job_id, error_id, exc_info=exc)
    return Failure(user_message(exc) or texts.SOMETHING_WENT_WRONG, error_id=error_id)
