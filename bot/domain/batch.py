"""A bulk update as a value: its tickets, each one's outcome, where its one message is."""

from __future__ import annotations

import time
from typing import Any, Literal

from pydantic import BaseModel, Field

State = Literal["pending", "done", "failed", "skipped"]


class BatchItem(BaseModel):
    account: str  # the account's name
    ticket: str  # the id the API takes
    ref: str  # as people know it (OPS-7)
    url: str | None = None
    changes: list[tuple[str, str, str]] = Field(default_factory=list)  # field, before, after
    state: State = "pending"
    cause: str = ""  # why it failed, or why it was skipped
    job: dict[str, Any] | None = None  # the job, for Retry
    undo: dict[str, Any] | None = None  # what Undo sends back, once done: body, expect, targets


class Batch(BaseModel):
    id: str
    verb: Literal["update", "undo"] = "update"
    user: str | None = None
    user_name: str | None = None
    team: str | None = None
    channel: str | None = None
    message_channel: str | None = None  # the batch's message, posted as the bot…
    message_ts: str | None = None
    response_url: str | None = None  # …or through a response_url (no progress edits then)
    items: list[BatchItem] = Field(default_factory=list)
    started: float = Field(default_factory=time.time)
    last_edit: float = 0.0

    def count(self, state: State) -> int:
        return sum(1 for item in self.items if item.state == state)

    @property
    def finished(self) -> bool:
        return self.count("pending") == 0

    def item(self, account: str, ticket: str) -> BatchItem | None:
        return next((i for i in self.items if i.account == account and i.ticket == ticket), None)
