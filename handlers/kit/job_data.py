"""What a durable job carries: everything needed to run it exactly as it was acknowledged.

A job names its resolved account (name and integrated account id), so a worker runs it on that
account whatever its own channel routing says, and a worker that does not know the account
leaves it for another deployment's worker. Version 1 jobs (plain dicts, before this model) still
load: their account is taken from `account`, or from the channel's routing as they used to be.

Keys:
- `v`: schema version (2).
- `kind`: `command` (the text of a `/ticket update`, parsed again when it runs), `fields`
  (resolved values from a form, a card button, a preview's Apply or an Undo), or `comment`
  (`text` is the comment, posted on `ticket`), or `step` (a Workflow Builder step: `step` names
  it, `text` is its update as typed or None, `comment` a comment to add; its outcome completes
  the step's `function_execution_id`; `user` is the person Slack vouched for, if any, and
  `claimed_for` the person the workflow's author named).
- `surface`: where it came from (command, form, card, preview, undo, retry).
- `account`, `integrated_account_id`: the account it runs on; `ticket`: the ticket as typed or id.
- `text` (command) or `body` (fields, a PATCH body) and `assign_me` (the "Assign to me" button).
- `user`, `user_name`, `team`, `channel`: who and where; `tenant` (distributed mode): the
  workspace (or Grid org) whose bot token and accounts the job runs with.
- `response_url`, `reply` (`in_channel`, `replace` or `post`), `ephemeral`: where the card goes.
- `key`: the Idempotency-Key; `jid`: the job's own id (set by the queue); `request_id`.
- `retried_from`: the response_url of the message whose Retry put the job back.
- `message_ts`: the message a card button was clicked on (its card is replaced in place).
- `undo_of`: an Undo's job: the user whose change it undoes (told in the card's thread).
- `batch`: the bulk update this ticket's job belongs to (its outcome goes to the batch's one
  message instead of a card of its own).
- `thread` jobs (a synced thread, handlers/jobs/thread_sync.py): `event` says which way: a reply
  (`reply`, `edit`, `delete`: `message_ts` the reply, `text` its text) becomes, changes or
  removes a comment; `tool_comment` (`body` the comment as the event carried it) is posted in
  the ticket's synced threads; `thread_ts` the thread.
- `create` jobs (a new ticket, handlers/jobs/create.py): `text` a `/ticket create` line (parsed
  again when it runs) and/or `body` resolved values (a form); `thread_ts` and `author` when it
  was made from a message (its card goes in the message's thread, its author is told).
- `delete` jobs: a create's Undo: `ticket` deleted; `message_ts` the card it replaces.
- `refresh` jobs (a webhook event: bring the ticket's cards up to date): `event` (created,
  updated or deleted), `changed_at` (the event's time, epoch seconds) and `not_before` (the end
  of the window in which further events for the ticket join this job).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.domain.accounts import Account
from bot.ops.config import AppConfig
from bot.ops.logs import current_fields

VERSION = 2
# Who asked and where, as a job (and a kept preview or batch) records it.
ORIGIN = ("channel", "user", "user_name", "team", "response_url")
Kind = Literal["command", "fields", "refresh", "comment", "step", "thread", "create", "delete"]
Reply = Literal["in_channel", "replace", "post"]


class JobData(BaseModel):
    model_config = ConfigDict(extra="ignore")

    v: int = VERSION
    kind: Kind
    surface: str = "command"
    account: str
    integrated_account_id: str = ""
    ticket: str = ""
    text: str | None = None
    body: dict[str, Any] = Field(default_factory=dict)
    assign_me: bool = False
    user: str | None = None
    user_name: str | None = None
    team: str | None = None
    tenant: str | None = None  # distributed mode: whose installation and accounts it runs with
    channel: str | None = None
    response_url: str | None = None
    reply: Reply = "in_channel"
    ephemeral: bool = False
    key: str
    jid: str | None = None
    request_id: str | None = None
    retried_from: str | None = None
    message_ts: str | None = None
    batch: str | None = None
    undo_of: str | None = None
    event: str | None = None
    changed_at: float | None = None
    not_before: float | None = None
    step: str | None = None
    function_execution_id: str | None = None
    comment: str | None = None
    claimed_for: str | None = None  # a step: the person its author named (a claim, never the actor)
    thread_ts: str | None = None  # a synced thread's (its root message's ts)
    author: str | None = None  # a create from a message: who wrote it (told of the new ticket)

    @classmethod
    def for_account(cls, account: Account, **fields: Any) -> JobData:
        """A job on `account`, carrying the current request's id unless given one."""
        fields.setdefault("request_id", current_fields().get("request_id"))
        return cls(account=account.name, integrated_account_id=account.integrated_account_id, **fields)

    @classmethod
    def to_apply(
        cls, account: Account, surface: str, ticket: str, body: dict[str, Any], **more: Any
    ) -> JobData:
        """A job that applies resolved values: a form, a card button, a preview's Apply, an
        Undo, one ticket of a bulk update."""
        return cls.for_account(account, kind="fields", surface=surface, ticket=ticket, body=body, **more)

    @classmethod
    def to_run(cls, account: Account, surface: str, text: str, ticket: str, **more: Any) -> JobData:
        """A job that runs a `/ticket update` as typed (parsed again when it runs)."""
        return cls.for_account(account, kind="command", surface=surface, text=text, ticket=ticket, **more)

    @property
    def origin(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in ORIGIN}

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_none=True)

    @classmethod
    def load(cls, data: dict[str, Any], config: AppConfig) -> JobData:
        """A job as written, by this version or the one before (which named no account on
        command jobs: the channel's routing decided, as it did then)."""
        if int(data.get("v") or 1) < VERSION and not data.get("account"):
            routed = config.account_for_channel(data.get("channel"))
            data = {**data, "account": routed.name if routed is not None else ""}
        return cls.model_validate(data)

    def known_account(self, config: AppConfig) -> Account | None:
        """The account, when this deployment has it (and it is the same connected account)."""
        account = config.account(self.account)
        if account is None:
            return None
        if self.integrated_account_id and self.integrated_account_id != account.integrated_account_id:
            return None
        return account
