"""`/ticket`: ack at once (parse errors answered in the ack itself), then apply and post the card."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids
from blocks.messages import HELP_EXAMPLES, connect_blocks, help_blocks, tool_examples
from blocks.text import sentence
from bot.domain.commands import (
    Command,
    CommentCommand,
    ConnectCommand,
    CreateCommand,
    EditCommand,
    HelpCommand,
    ListCommand,
    NotifyCommand,
    RemindCommand,
    ShowCommand,
    SubscribeCommand,
    SubscriptionsCommand,
    UnsubscribeCommand,
    UpdateCommand,
)
from bot.domain.custom_fields import ticket_fields
from bot.domain.errors import ParseError, UserInputError
from bot.domain.fields import FIELDS, Kind
from bot.domain.grammar import EVERYDAY, typed_name
from bot.domain.subscriptions import FILTER_HINT
from handlers.jobs import notify_people, reminders, ticket_changed
from handlers.kit import texts
from handlers.kit.card_view import card_message
from handlers.kit.deps import SlackDeps, deps_of, idempotency_key
from handlers.kit.edit_form import open_edit
from handlers.kit.identity import acting_account, disconnect
from handlers.kit.job_data import JobData
from handlers.kit.job_queue import enqueue, enqueue_bulk_plan
from handlers.kit.surface import ack_only, asker_of, guarded, private_answer
from handlers.listeners.actions.preview import offer_preview, wants_preview
from handlers.listeners.commands import subscriptions, ticket_create, ticket_list
from handlers.listeners.shortcuts.update_ticket import known_prefixes


def _parsed(body: dict[str, Any], context: AsyncBoltContext) -> Command | ParseError:
    """The command, parsed once per request (kept in the context for the listener)."""
    if "command" not in context:
        try:
            context["command"] = deps_of(context).service.parse(
                body.get("text") or "", body.get("channel_id")
            )
        except ParseError as exc:
            context["command"] = exc
    parsed: Command | ParseError = context["command"]
    return parsed


async def _create_decision(
    body: dict[str, Any], context: AsyncBoltContext, command: CreateCommand
) -> ticket_create.Decision:
    """What a `/ticket create` does, decided once per request (kept in the context)."""
    if "create_decision" not in context:
        context["create_decision"] = await ticket_create.decide(deps_of(context), command, body)
    decision: ticket_create.Decision = context["create_decision"]
    return decision


async def answered_in_ack(body: dict[str, Any], context: AsyncBoltContext) -> bool:
    """Updates and mistakes are answered by the ack alone: no lazy listener, nothing copied."""
    command = _parsed(body, context)
    if isinstance(command, CreateCommand):
        return (await _create_decision(body, context, command)).action != "form"
    if isinstance(command, UpdateCommand):
        return command.bulk or not wants_preview(deps_of(context), command)
    return isinstance(command, ParseError | CommentCommand)


def update_job(deps: SlackDeps, command: UpdateCommand, body: dict[str, Any]) -> tuple[JobData, str]:
    """The durable job of a `/ticket update` and its Idempotency-Key (from the request: a retry or
    a double click makes one change). UserInputError when the channel has no account."""
    key = idempotency_key(body.get("team_id"), body.get("user_id"), body.get("trigger_id"))
    account = deps.service.account_for_ref(command.ref, body.get("channel_id"))
    surface = "bulk" if command.bulk else "command"
    text = body.get("text") or ""
    return JobData.to_run(account, surface, text, command.ref.id, key=key, **asker_of(body)), key


async def ack_ticket(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext) -> None:
    """Answer within Slack's 3 s: a parse error at once; an update is written as a durable job
    before the ack; show, edit and help run after it."""
    deps = deps_of(context)
    command = _parsed(body, context)
    if isinstance(command, ParseError):
        await ack(**private_answer(texts.refusal(str(command))))
        return
    if isinstance(command, CreateCommand):
        decision = await _create_decision(body, context, command)
        if decision.action == "refuse":
            await ack(**private_answer(texts.refusal(decision.refusal)))
            return
        if decision.action == "queue":
            try:
                await ticket_create.queue(deps, body)
            except UserInputError as refused:
                await ack(**private_answer(texts.refusal(str(refused))))
                return
        await ack()
        return
    if isinstance(command, CommentCommand):
        try:
            key = idempotency_key(body.get("team_id"), body.get("user_id"), body.get("trigger_id"))
            account = deps.service.account_for_ref(command.ref, body.get("channel_id"))
            job = JobData.for_account(
                account,
                kind="comment",
                surface="command",
                ticket=command.ref.id,
                text=command.text,
                key=key,
                **asker_of(body),
            )
            await enqueue(deps, job, dedupe=key)
        except UserInputError as refused:
            await ack(**private_answer(texts.refusal(str(refused))))
            return
        await ack()
        return
    if isinstance(command, UpdateCommand) and (command.bulk or not wants_preview(deps, command)):
        try:
            job, key = update_job(deps, command, body)
            if command.bulk:
                await enqueue_bulk_plan(deps, job, dedupe=key, tickets=len(command.refs))
            else:
                await enqueue(deps, job, dedupe=key)
        except UserInputError as refused:  # no account for the channel, or Busy
            await ack(**private_answer(texts.refusal(str(refused))))
            return
    await ack()


@guarded
async def run_ticket(
    body: dict[str, Any], client: AsyncWebClient, respond: AsyncRespond, context: AsyncBoltContext
) -> None:
    deps = deps_of(context)
    channel = body.get("channel_id")
    command = _parsed(body, context)
    if isinstance(command, HelpCommand) and command.topic == "subscribe":
        await _subscribe_help(deps, respond, channel)
    elif isinstance(command, HelpCommand):
        await _help(deps, respond, channel)
    elif isinstance(command, UpdateCommand):  # a preview: updates without one never get here
        origin = {
            "text": body.get("text") or "",
            "channel": channel,
            "user": body.get("user_id"),
            "user_name": body.get("user_name"),
            "team": body.get("team_id"),
            "response_url": body.get("response_url"),
        }
        limit = deps.config.settings.preview_above_fields
        changes = len(command.assignments)
        why = f"It changes {changes} fields; updates of more than {limit} are previewed first."
        if command.preview:
            why = ""
        await offer_preview(deps, respond, origin, note=why)
    elif isinstance(command, ShowCommand):
        account = deps.service.account_for_ref(command.ref, channel)
        # Reads follow the reader: through their own account where they have one, so a ticket it
        # may not see is answered as not found and nothing of it is shown.
        reader = await acting_account(deps, account, body.get("user_id"), reading=True)
        ticket = await deps.service.fetch_ticket(reader, command.ref)
        message = await card_message(deps, account, ticket, shareable=True, channel=channel)
        await respond(response_type="ephemeral", replace_original=False, **message)
        # It follows its ticket while Slack lets the command's response_url replace it (30 minutes).
        shown = ticket_changed.through_response_url(body.get("response_url"), channel=channel, shareable=True)
        if shown is not None:
            await ticket_changed.remember(deps, account, ticket, shown)
    elif isinstance(command, CreateCommand):  # the form: a line without what the tool requires
        user = str(body.get("user_id") or "")
        await ticket_create.open_form(
            deps, client, respond, body["trigger_id"], body.get("text") or "", channel, user
        )
    elif isinstance(command, EditCommand):
        account = deps.service.account_for(channel)
        await open_edit(deps, client, body["trigger_id"], account, command.ref, channel, body.get("user_id"))
    elif isinstance(command, SubscribeCommand):
        if command.request is None:  # `/ticket subscribe` alone: the form
            await subscriptions.open_form(deps, client, body)
        else:
            await subscriptions.subscribe(deps, client, respond, body, command.request)
    elif isinstance(command, SubscriptionsCommand):
        await subscriptions.listing(deps, respond, body)
    elif isinstance(command, UnsubscribeCommand):
        await subscriptions.unsubscribe(deps, respond, body, command.number)
    elif isinstance(command, NotifyCommand):
        await turn_notifications(deps, respond, body, command.on)
    elif isinstance(command, ConnectCommand):
        await _connect(deps, respond, body, channel, command.connect)
    elif isinstance(command, ListCommand):
        await ticket_list.list_tickets(deps, respond, body, command.request)
    elif isinstance(command, RemindCommand):
        await turn_reminders(deps, respond, body, command.on)


async def _connect(
    deps: SlackDeps, respond: AsyncRespond, body: dict[str, Any], channel: str | None, connect: bool
) -> None:
    """`/ticket connect`: a private link to connect your own account of the channel's tool;
    `/ticket disconnect`: your own connections removed (in the unified API too)."""
    user = str(body.get("user_id") or "")
    account = deps.service.account_for(channel)
    tool = account.display_tool
    workspace = await deps.workspace_id()
    if deps.own_accounts is None or deps.personal is None or workspace is None:
        await respond(response_type="ephemeral", text=texts.refusal(NOT_HERE))
        return
    if not connect:
        gone = await disconnect(deps, user)
        said = (
            f"Your own {tool} account is disconnected"
            if gone
            else "You have no account of your own connected"
        )
        await respond(
            response_type="ephemeral", text=f"{said}; changes go through the workspace's connection."
        )
        return
    if account.identity == "shared":
        await respond(
            response_type="ephemeral",
            text=texts.refusal(
                f"this workspace makes every {tool} change through its own connection; an admin can let "
                "people connect their own accounts (the Home tab's settings)"
            ),
        )
        return
    link = await deps.own_accounts.personal_link(workspace, user)
    text = (
        f"Connect your own {tool} account: your changes from Slack then show as you in {tool}, "
        "with your permissions there."
    )
    await respond(
        response_type="ephemeral",
        text=text,
        blocks=connect_blocks(text, f"Connect your own {tool} account", link),
    )


async def _help(deps: SlackDeps, respond: AsyncRespond, channel: str | None) -> None:
    account = deps.config.account_for_channel(channel)
    statuses: list[str] = []
    priorities: list[str] = []
    fields: list[str] = []
    more: list[str] = []
    custom: list[str] = []
    examples = list(HELP_EXAMPLES)
    threads: bool | None = None
    if account is not None:
        lookups = deps.core.lookups
        statuses = (await lookups.get(account, "ticket_status")).names
        priorities = (await lookups.get(account, "ticket_priorities")).names
        abilities = await deps.service.abilities(account)
        settable = [name for name, spec in FIELDS.items() if spec.kind not in (Kind.STRUCTURED, Kind.CUSTOM)]
        allowed = set(settable) - set(account.permissions.locked_fields)
        if abilities.body_fields is not None:
            allowed &= abilities.body_fields
        changeable = [name for name in settable if name in allowed] if abilities.can_update else []
        fields = [typed_name(n) for n in EVERYDAY if n in changeable]
        more = [n for n in changeable if n not in EVERYDAY]
        definitions = await lookups.get(account, "fields")
        custom = [str(f.get("name")) for f in ticket_fields(definitions.items)]
        prefixes = sorted(await known_prefixes(deps, account) or ())
        examples = tool_examples(prefixes[0] if prefixes else "PROJ", statuses, priorities, changeable)
        threads = abilities.can_sync_threads
    tool = account.display_tool if account else None
    text = "How to use /ticket"
    blocks = help_blocks(tool, statuses, priorities, fields, custom, examples, more, threads=threads)
    await respond(response_type="ephemeral", text=text, blocks=blocks)


def _as_word(value: str) -> str:
    """A value as the grammar reads it back: quoted when it has a space or a comma."""
    return f'"{value}"' if any(c in value for c in " ,") else value


async def _subscribe_help(deps: SlackDeps, respond: AsyncRespond, channel: str | None) -> None:
    """What a subscription's filter takes, with examples in the channel's tool's own values."""
    account = deps.config.account_for_channel(channel)
    priorities = (await deps.core.lookups.get(account, "ticket_priorities")).names if account else []
    statuses = (await deps.core.lookups.get(account, "ticket_status")).names if account else []
    wanted = ",".join(_as_word(p) for p in priorities[:2]) or "high"
    status = _as_word(statuses[-1]) if statuses else "done"
    text = (
        f"*/ticket subscribe* tells this channel when tickets change. {sentence(FILTER_HINT)}\n"
        f"• `/ticket subscribe priority={wanted}`: new and changed tickets of those priorities\n"
        f"• `/ticket subscribe assignee=me changed=status`: when my tickets move, e.g. to {status}\n"
        "• `/ticket subscribe` alone: a form; `/ticket subscriptions`: this channel's; "
        "`/ticket unsubscribe 2`: remove the second"
    )
    await respond(response_type="ephemeral", text=text)


async def turn_notifications(deps: SlackDeps, respond: AsyncRespond, body: dict[str, Any], on: bool) -> None:
    user = str(body.get("user_id") or "")
    await notify_people.store_of(deps).turn(user, on)
    text = (
        "Notifications are on: a DM when a ticket is assigned to you, when one assigned to or created "
        "by you changes status or priority, or when its description mentions you. "
        "`/ticket notify off` stops them."
        if on
        else "Notifications are off. `/ticket notify on` turns them on again."
    )
    await respond(response_type="ephemeral", text=text)


async def turn_reminders(deps: SlackDeps, respond: AsyncRespond, body: dict[str, Any], on: bool) -> None:
    user = str(body.get("user_id") or "")
    directory = deps.core.slack_directory
    tz = await directory.tz_of(user) if directory is not None and on else None
    if not await reminders.store_of(deps).turn(deps.tenant or "", user, tz, on):
        raise UserInputError("reminders are full on this deployment just now; ask its operator")
    text = (
        f"Reminders are on: each morning at {reminders.MORNING} ({tz or 'UTC'}, your Slack time zone) a DM "
        "lists the tickets assigned to you that are due within two days or overdue (none: no DM). "
        "`/ticket remind off` stops them."
        if on
        else "Reminders are off. `/ticket remind due` turns them on again."
    )
    await respond(response_type="ephemeral", text=text)


NOT_HERE = (
    "connecting your own account is not turned on here (the bot's operator names a database for it: "
    "DATABASE_URL or TICKETBOT_DATA_DIR); every change goes through the team's connection"
)


def register(app: AsyncApp) -> None:
    app.command(ids.COMMAND, matchers=[answered_in_ack])(ack_ticket)
    app.command(ids.COMMAND)(ack=ack_only, lazy=[run_ticket])
