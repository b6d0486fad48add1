"""`/ticket subscribe|subscriptions|unsubscribe` and the subscribe form: filters resolved and
checked when made (mistakes answered as an update's, nothing saved), kept per account."""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids
from blocks.subscriptions import Listed, subscribe_view, subscriptions_list
from bot.domain.accounts import Account
from bot.domain.actors import Actor
from bot.domain.commands import UserValue
from bot.domain.errors import ParseError, Refused, ResolveError, UserInputError
from bot.domain.subscriptions import (
    FILTER_FIELDS,
    ME,
    NONE,
    Clause,
    Condition,
    SubscribeRequest,
    Subscription,
    parse_subscribe,
)
from bot.service.lookups import RESOURCE_LABELS
from bot.store.cache import LockBusy
from bot.store.subscriptions import LimitReached
from handlers.jobs.subscribers import store_of
from handlers.kit import texts
from handlers.kit.deps import SlackDeps
from handlers.kit.payloads import private_metadata, selected_value, text_at, view_input
from handlers.kit.surface import guarded

log = logging.getLogger(__name__)


_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|([^>]*))?>$")


NO_WEBHOOK = (
    "Subscriptions need the unified API's webhook, and this bot has none: an admin registers it "
    "with `ticketbot webhooks register --url https://<the bot's host>/truto/webhooks` and sets "
    "TRUTO_WEBHOOK_SECRET to the secret it prints (a bot in Socket Mode needs a public HTTPS URL "
    "for that webhook too). Nothing was saved."
)


def _refused(message: str) -> str:
    """A refusal, as every refusal reads, of a change to subscriptions (nothing is sent anywhere)."""
    return texts.refusal(message).replace("Nothing was sent.", "Nothing was saved.")


def user_value(text: str) -> UserValue:
    mention = _MENTION.match(text)
    if mention:
        return UserValue("slack", mention.group(2) or mention.group(1), mention.group(1))
    if text.lower() == ME:
        return UserValue("me", ME)
    if "@" in text.strip("@"):
        return UserValue("email", text)
    return UserValue("name", text.lstrip("@"), at_typed=text.startswith("@"))


async def resolve_clause(deps: SlackDeps, account: Account, clause: Clause, actor: Actor) -> Condition:
    """The clause's values as ids (and names, to show): refused as an update's would be."""
    if clause.word.startswith("cf."):
        return Condition(
            word=clause.word, field=clause.word, ids=clause.values, names=clause.values, negate=clause.negate
        )
    field, resource = FILTER_FIELDS[clause.word]
    ids: list[str] = []
    names: list[str] = []
    for value in clause.values:
        if value.lower() == NONE:
            ids.append("")
            names.append(NONE)
            continue
        try:
            if resource == "users":
                ref = await deps.service.resolver.user(account, user_value(value), actor)
                ids.append(ref.id)
                names.append(ME if value.lower() == ME else (ref.name or value))
                continue
            assert resource is not None
            lookup = await deps.core.lookups.get(account, resource)
            if not lookup.present:  # the tool has no such list: matched as typed
                ids.append(value)
                names.append(value)
                continue
            item = lookup.index.resolve(value, RESOURCE_LABELS[resource])
        except ResolveError as exc:
            raise UserInputError(f"{clause.word}={value}: {exc.message}") from None
        ids.append(str(item.get("id")))
        names.append(str(item.get("name") or item.get("id")))
    return Condition(word=clause.word, field=field, ids=tuple(ids), names=tuple(names), negate=clause.negate)


def _account(deps: SlackDeps, channel: str, named: str | None) -> Account:
    """The channel's account, or the one named with --account (the user must be allowed on it)."""
    if named is None:
        return deps.service.account_for(channel)
    account = deps.config.account(named)
    if account is None:
        known = ", ".join(deps.config.accounts) or "none"
        raise UserInputError(f"--account {named}: no account named {named!r} (known: {known})")
    return account


async def channel_member(deps: SlackDeps, user: str, channel: str) -> bool:
    directory = deps.core.slack_directory
    if directory is None:
        return True
    if await directory.is_admin(user):
        return True
    members = await directory.channels_of(user)
    if members is None:  # fail closed: a rate limit is no way into someone else's channel
        raise Refused(f"Slack did not say whether you are in <#{channel}> just now; try again in a minute")
    return channel in members


def _workspace_accounts(deps: SlackDeps) -> list[str]:
    return [a.integrated_account_id for a in deps.config.accounts.values()]


BUSY = "this channel's subscriptions are being changed by someone else just now; try again in a moment"


CANNOT_POST = frozenset({"not_in_channel", "channel_not_found", "is_archived", "restricted_action"})


async def subscribe(
    deps: SlackDeps,
    client: AsyncWebClient,
    respond: AsyncRespond,
    body: dict[str, Any],
    request: SubscribeRequest,
) -> None:
    """Saved, then announced in the channel by the bot itself: a channel the bot cannot post in
    (a private one it was not invited to) keeps no subscription."""
    channel, user = str(body.get("channel_id") or ""), str(body.get("user_id") or "")
    settings = deps.config.settings
    if not settings.webhook_secrets:
        await respond(response_type="ephemeral", text=NO_WEBHOOK)
        return
    actor = Actor(slack_user_id=user, name=body.get("user_name"))
    try:
        account = _account(deps, channel, request.account)
        await deps.service.check_may_subscribe(account, actor, channel)
        if not await channel_member(deps, user, channel):
            raise UserInputError(f"only a member of <#{channel}> can subscribe it; join it first")
        conditions = [await resolve_clause(deps, account, clause, actor) for clause in request.clauses]
        directory = deps.core.slack_directory
        tz = (await directory.tz_of(user) if directory is not None else None) or "UTC"
        sub = Subscription(
            id=uuid.uuid4().hex[:12],
            channel=channel,
            account=account.integrated_account_id,
            conditions=tuple(conditions),
            changed=request.changed,
            events=request.events,
            fields=request.fields,
            thread=request.thread,
            digest=request.digest,
            tz=tz,
            created_by=user,
            created_at=time.time(),
            tenant=deps.tenant,
        )
        await store_of(deps).add(
            sub,
            per_channel=settings.subscriptions_per_channel,
            per_workspace=settings.subscriptions_per_workspace,
            workspace_accounts=_workspace_accounts(deps),
        )
    except LimitReached as exc:
        await respond(response_type="ephemeral", text=_refused(f"{exc}; `/ticket unsubscribe N` frees one"))
        return
    except UserInputError as exc:
        await respond(response_type="ephemeral", text=_refused(str(exc)))
        return
    except LockBusy:
        await respond(response_type="ephemeral", text=_refused(BUSY))
        return
    said = (
        f"<@{user}> subscribed this channel to {account.display_tool} changes: `{sub.shown()}`. "
        "`/ticket subscriptions` lists this channel's."
    )
    try:
        await client.chat_postMessage(channel=channel, text=said)
    except SlackApiError as exc:
        if exc.response.get("error") not in CANNOT_POST:
            raise
        await store_of(deps).remove(sub)
        await respond(
            response_type="ephemeral",
            text=_refused(
                f"I can't post in <#{channel}>, so I could not tell it of any change: invite me first "
                "(`/invite @ticketbot`; a private channel needs it)"
            ),
        )


async def listing(deps: SlackDeps, respond: AsyncRespond, body: dict[str, Any]) -> None:
    channel = str(body.get("channel_id") or "")
    subs = await store_of(deps).of_channel(channel, _workspace_accounts(deps))
    tools = {a.integrated_account_id: a.display_tool for a in deps.config.accounts.values()}
    listed = [
        Listed(n, s.shown(), tools.get(s.account, "the ticketing tool"), s.created_by, s.created_at)
        for n, s in enumerate(subs, start=1)
    ]
    text, blocks = subscriptions_list(listed, deps.config.settings.subscriptions_per_channel)
    await respond(response_type="ephemeral", text=text, blocks=blocks)


async def unsubscribe(deps: SlackDeps, respond: AsyncRespond, body: dict[str, Any], number: int) -> None:
    channel, user = str(body.get("channel_id") or ""), str(body.get("user_id") or "")
    subs = await store_of(deps).of_channel(channel, _workspace_accounts(deps))
    if number > len(subs):
        said = f"this channel has {len(subs)} subscriptions" if subs else "this channel has no subscriptions"
        await respond(
            response_type="ephemeral", text=texts.refusal(f"{said}; `/ticket subscriptions` lists them")
        )
        return
    gone = subs[number - 1]
    account = next(
        (a for a in deps.config.accounts.values() if a.integrated_account_id == gone.account), None
    )
    try:
        if account is not None:
            await deps.service.check_may_subscribe(account, Actor(slack_user_id=user), channel)
        if not await channel_member(deps, user, channel):
            raise UserInputError(f"only a member of <#{channel}> can change its subscriptions")
    except UserInputError as exc:
        await respond(response_type="ephemeral", text=texts.refusal(str(exc)))
        return
    try:
        await store_of(deps).remove(gone)
    except LockBusy:
        await respond(response_type="ephemeral", text=_refused(BUSY))
        return
    await respond(
        response_type="in_channel", text=f"<@{user}> removed this channel's subscription `{gone.shown()}`."
    )


async def open_form(deps: SlackDeps, client: AsyncWebClient, body: dict[str, Any]) -> None:
    channel = str(body.get("channel_id") or "")
    try:
        account = deps.service.account_for(channel)
    except UserInputError as exc:
        await client.chat_postEphemeral(
            channel=channel, user=str(body.get("user_id")), text=_refused(str(exc))
        )
        return
    metadata = deps.signer.sign({"subscribe": channel})
    await client.views_open(
        trigger_id=body["trigger_id"], view=subscribe_view(metadata, account.display_tool)
    )


def _form_channel(body: dict[str, Any], signed: dict[str, Any]) -> str:
    """The channel of `/ticket subscribe` alone, or the one picked in the Home tab's form."""
    if signed.get("subscribe"):
        return str(signed["subscribe"])
    return text_at(view_input(body, ids.SUB_CHANNEL, ids.SETTINGS_VALUE), "selected_conversation")


def _form_text(body: dict[str, Any]) -> str:
    """The form's answers as the words `/ticket subscribe` takes."""

    def chosen(block: str) -> dict[str, Any]:
        return view_input(body, block, ids.SETTINGS_VALUE)

    words = [str(chosen(ids.SUB_FILTER).get("value") or "").strip()]
    events = [str(o.get("value")) for o in chosen(ids.SUB_EVENTS).get("selected_options") or []]
    words.append(f"--events {','.join(events) or 'none'}")
    words.append(f"--thread {selected_value(chosen(ids.SUB_THREAD)) or 'on'}")
    at = chosen(ids.SUB_DIGEST).get("selected_time")
    if at:
        words.append(f"--digest daily {at}")
    return " ".join(w for w in words if w)


async def ack_form(ack: AsyncAck, body: dict[str, Any], deps: SlackDeps) -> None:
    """A mistake in the filter is answered on the form; the rest is checked as the command's."""
    signed = deps.signer.verify(private_metadata(body))
    if signed is None or not isinstance(signed.get("subscribe"), str):
        await ack(
            response_action="errors",
            errors={ids.SUB_FILTER: "This form has expired; type /ticket subscribe again."},
        )
        return
    if not _form_channel(body, signed):
        await ack(response_action="errors", errors={ids.SUB_CHANNEL: "Pick the channel to subscribe."})
        return
    try:
        parse_subscribe(_form_text(body))
    except ParseError as exc:
        block = ids.SUB_EVENTS if "--events" in exc.message else ids.SUB_FILTER
        await ack(response_action="errors", errors={block: str(exc)[:150]})
        return
    await ack()


@guarded
async def subscribe_from_form(body: dict[str, Any], client: AsyncWebClient, deps: SlackDeps) -> None:
    signed = deps.signer.verify(private_metadata(body)) or {}
    channel, user = _form_channel(body, signed), (body.get("user") or {})
    request = parse_subscribe(_form_text(body))
    asked = {"channel_id": channel, "user_id": user.get("id"), "user_name": user.get("username")}

    async def respond(**message: Any) -> None:  # what the command would answer, privately here
        await client.chat_postEphemeral(
            channel=channel, user=str(user.get("id")), text=str(message.get("text"))
        )

    await subscribe(deps, client, respond, asked, request)  # type: ignore[arg-type]


def register(app: AsyncApp) -> None:
    app.view(ids.SUBSCRIBE_VIEW)(ack=ack_form, lazy=[subscribe_from_form])
