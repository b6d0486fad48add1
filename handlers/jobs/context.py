"""One run of one job: what every runner is given, and what it asks of it."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.accounts import Account
from bot.domain.actors import Actor
from bot.store.queue import Job
from handlers.jobs.completion import complete_then_tell
from handlers.kit.deps import SlackDeps
from handlers.kit.identity import acting_account
from handlers.kit.job_data import JobData

Outcome = TypeVar("Outcome")


@dataclass(frozen=True)
class JobContext:
    deps: SlackDeps
    client: AsyncWebClient
    job: Job
    data: JobData
    account: Account  # the workspace's account the job was acknowledged for

    @property
    def actor(self) -> Actor:
        return Actor(slack_user_id=self.data.user, name=self.data.user_name)

    @property
    def first_try(self) -> bool:
        """No earlier try of this job may have landed (a redelivery or a Retry may have)."""
        return self.job.deliveries <= 1 and not self.data.retried_from

    async def acting(self) -> Account:
        """The account the change is made through: the person's own, as the workspace's
        identity policy says, else the workspace's."""
        return await acting_account(self.deps, self.account, self.data.user)

    async def complete_then_tell(
        self,
        work: Awaitable[Outcome],
        told: Callable[[Outcome], Awaitable[None]],
        failed: Callable[[Exception], Awaitable[None]],
    ) -> None:
        await complete_then_tell(self.deps, self.job, work, told, failed)
