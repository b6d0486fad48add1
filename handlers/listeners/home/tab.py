"""The App Home tab, published when a user opens it (`app_home_opened`)."""

from __future__ import annotations

import uuid
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from blocks import ids
from blocks.card import Block
from blocks.home import ConnectPanel, HomeSubscription, RecentUpdate, Routing, home_view, own_account_blocks
from blocks.messages import connect_blocks, tool_examples
from blocks.subscriptions import subscribe_view
from bot.domain.accounts import Account
from bot.domain.actors import Actor
from bot.domain.errors import UserInputError
from handlers.jobs import notify_people, subscribers
from handlers.kit import texts
from handlers.kit.create_form import Prefill, open_create
from handlers.kit.deps import SlackDeps
from handlers.kit.identity import disconnect
from handlers.kit.my_tickets import my_tickets
from handlers.kit.payloads import first_action, user_of
from handlers.kit.surface import ack_only, guarded
from handlers.listeners.commands import subscriptions
from handlers.listeners.shortcuts.update_ticket import known_prefixes

RECENT = 5


async def examples(deps: SlackDeps, account: Account | None) -> list[str]:
    """Three commands that work on this workspace's main tool: its key prefix, and a status and
    priority from its cached lists (no API call to open a tab)."""
    statuses: list[str] = []
    priorities: list[str] = []
    prefixes: list[str] = []
    if account is not None:
        cached_statuses = await deps.core.lookups.cached(account, "ticket_status")
        cached_priorities = await deps.core.lookups.cached(account, "ticket_priorities")
        statuses = cached_statuses.names if cached_statuses is not None else []
        priorities = cached_priorities.names if cached_priorities is not None else []
        prefixes = sorted(await known_prefixes(deps, account) or ())
    shown = tool_examples(prefixes[0] if prefixes else "PROJ", statuses, priorities)
    return [shown[0][0], shown[4][0], shown[3][0]]  # set fields, show, many at once


async def routings(deps: SlackDeps, user: str) -> list[Routing]:
    """Where each tool is used: the channels this user is in (a workspace admin sees them all;
    when Slack does not say which channels someone is in, none are named)."""
    config = deps.config
    directory = deps.core.slack_directory
    visible: frozenset[str] | None = None
    if directory is not None and not await directory.is_admin(user):
        visible = await directory.channels_of(user) or frozenset()
    return [
        Routing(
            tool=account.display_tool,
            channels=[
                c
                for c, name in config.channels.items()
                if name == account.name and (visible is None or c in visible)
            ],
            default=config.default_account == account.name,
        )
        for account in config.accounts.values()
    ]


async def recent(deps: SlackDeps, user: str) -> list[RecentUpdate] | None:
    audit = deps.service.audit
    if audit is None or audit.client is None:
        return None
    records = await audit.recent_of(user, limit=RECENT)
    return [
        RecentUpdate(
            at=r.at,
            ticket=r.ticket,
            changes=", ".join(f"{c['field']} {c['before']} → {c['after']}" for c in r.changes) or "no change",
        )
        for r in records
    ]


async def connect_panel(deps: SlackDeps, user: str) -> ConnectPanel | None:
    """Distributed mode: the workspace's tools; an admin also gets a connect page."""
    if deps.onboarding is None or deps.tenant is None:
        return None
    connections = await deps.onboarding.connections(deps.tenant)
    tools = [(c.tool, c.state) for c in connections]
    directory = deps.core.slack_directory
    admin = directory is not None and await directory.is_admin(user)
    if not admin:
        installer = await deps.onboarding.installer(deps.tenant)
        who = (
            f"<@{installer}> (who added ticketbot) or another workspace admin or owner"
            if installer
            else ("a workspace admin or owner")
        )
        return ConnectPanel(tools, None, f"Ask {who} to connect it from this tab.")
    return ConnectPanel(
        tools,
        await deps.onboarding.connect_link(deps.tenant, user),
        settings=any(c.active for c in connections),
    )


async def home_subscriptions(deps: SlackDeps, user: str) -> list[HomeSubscription] | None:
    """The subscriptions of the channels this user is in (an admin: all); None when they cannot
    work here (no tool, or no webhook)."""
    if not deps.config.accounts or not deps.config.settings.webhook_secrets:
        return None
    directory = deps.core.slack_directory
    visible: frozenset[str] | None = None
    if directory is not None and not await directory.is_admin(user):
        visible = await directory.channels_of(user) or frozenset()
    found = []
    for account in deps.config.accounts.values():
        for sub in await subscribers.store_of(deps).of_account(account.integrated_account_id):
            if visible is None or sub.channel in visible:
                value = deps.signer.sign({"rm": sub.id, "a": sub.account})
                found.append(HomeSubscription(sub.channel, sub.shown(), account.display_tool, value))
    return found


@guarded
async def remove_subscription(body: dict[str, Any], client: AsyncWebClient, deps: SlackDeps) -> None:
    """The Home tab's Remove: as `/ticket unsubscribe` would, for whoever may."""
    user = user_of(body) or ""
    signed = deps.signer.verify(first_action(body).get("value")) or {}
    store = subscribers.store_of(deps)
    account = next(
        (a for a in deps.config.accounts.values() if a.integrated_account_id == signed.get("a")), None
    )
    gone = (
        next(
            (s for s in await store.of_account(account.integrated_account_id) if s.id == signed.get("rm")),
            None,
        )
        if account
        else None
    )
    if account is not None and gone is not None:
        try:
            await deps.service.check_may_subscribe(account, Actor(slack_user_id=user), gone.channel)
            if not await subscriptions.channel_member(deps, user, gone.channel):
                raise UserInputError(f"only a member of <#{gone.channel}> can change its subscriptions")
        except UserInputError as exc:
            await client.chat_postMessage(channel=user, text=texts.refusal(str(exc)))
            return
        await store.remove(gone)
        await client.chat_postMessage(
            channel=gone.channel, text=f"<@{user}> removed this channel's subscription `{gone.shown()}`."
        )
    await publish_for(deps, client, user)


@guarded
async def add_subscription(body: dict[str, Any], client: AsyncWebClient, deps: SlackDeps) -> None:
    """The Home tab's "Subscribe a channel": the form, with the channel to pick."""
    main = deps.config.account(deps.config.default_account or "") or next(iter(deps.config.accounts.values()))
    metadata = deps.signer.sign({"subscribe": ""})
    view = subscribe_view(metadata, main.display_tool, pick_channel=True)
    await client.views_open(trigger_id=body["trigger_id"], view=view)


@guarded
async def publish_home(body: dict[str, Any], client: AsyncWebClient, deps: SlackDeps) -> None:
    """Once per event (Slack retries deliveries), within the user's quota (opening the tab again
    and again is work too), reading only that user's recent updates."""
    event = body.get("event") or {}
    user = event.get("user")
    if event.get("tab") != "home" or not user:
        return
    if not await deps.first_time("home-event", str(body.get("event_id") or uuid.uuid4().hex), 3600):
        return
    team = body.get("team_id")
    if deps.quota is not None and not await deps.quota.allow(team, str(user)):
        return  # nothing to answer: the tab keeps what it showed last
    await publish_for(deps, client, str(user))


async def publish_for(deps: SlackDeps, client: AsyncWebClient, user: str) -> None:
    """The user's Home tab, as it is now (also after a connection or a settings change)."""
    main = deps.config.account(deps.config.default_account or "") or next(
        iter(deps.config.accounts.values()), None
    )
    notify = user in await notify_people.store_of(deps).users() if deps.config.accounts else None
    view = home_view(
        await routings(deps, user),
        await examples(deps, main),
        await recent(deps, user),
        await connect_panel(deps, user),
        notify,
        await home_subscriptions(deps, user),
        await _own_account(deps, user, main),
        await my_tickets(deps, user, main),
    )
    await client.views_publish(user_id=user, view=view)


async def _own_account(deps: SlackDeps, user: str, main: Account | None) -> list[Block] | None:
    """Where people may connect their own account (distributed mode, not `shared`)."""
    workspace = await deps.workspace_id()
    if deps.personal is None or workspace is None or main is None or main.identity == "shared":
        return None
    every = await deps.personal.of_person(workspace, user)
    mine = [c for c in every if c.shared_account_id == main.integrated_account_id]
    broken = next((c for c in mine if c.status != "active"), None)
    reconnect = None
    if broken is not None and deps.own_accounts is not None:  # a link is minted only for a broken one
        reconnect = await deps.own_accounts.reconnect_link(broken.integrated_account_id)
    return own_account_blocks(main.display_tool, bool(mine), reconnect)


@guarded
async def own_account_clicked(body: dict[str, Any], client: AsyncWebClient, deps: SlackDeps) -> None:
    """Connect: a DM with the connect page's button (a link token is minted only on a click);
    Disconnect: removed here and in the unified API. Then the tab again."""
    user = user_of(body) or ""
    value = first_action(body).get("value")
    main = deps.config.account(deps.config.default_account or "") or next(
        iter(deps.config.accounts.values()), None
    )
    workspace = await deps.workspace_id()
    if not user or main is None or deps.own_accounts is None or workspace is None:
        return
    if value == "connect" and main.identity != "shared":
        tool = main.display_tool
        link = await deps.own_accounts.personal_link(workspace, user)
        text = f"Connect your own {tool} account: your changes from Slack then show as you in {tool}."
        await client.chat_postMessage(
            channel=user, text=text, blocks=connect_blocks(text, f"Connect your own {tool} account", link)
        )
    elif value == "disconnect":
        await disconnect(deps, user)
    await publish_for(deps, client, user)


@guarded
async def toggle_notifications(body: dict[str, Any], client: AsyncWebClient, deps: SlackDeps) -> None:
    """The Home tab's button: on or off as it said, then the tab again."""
    user = user_of(body) or ""
    value = first_action(body).get("value")
    if user and value in ("on", "off"):
        await notify_people.store_of(deps).turn(user, value == "on")
        await publish_for(deps, client, user)


@guarded
async def create_clicked(body: dict[str, Any], client: AsyncWebClient, deps: SlackDeps) -> None:
    """ "Create a ticket" on the Home tab: the create form on the main tool; the card follows in
    a direct message (the tab is no channel)."""
    main = deps.config.account(deps.config.default_account or "") or next(
        iter(deps.config.accounts.values()), None
    )
    if main is None:
        return
    await open_create(deps, client, body["trigger_id"], main, None, user_of(body), Prefill())


def register(app: AsyncApp) -> None:
    app.event("app_home_opened")(ack=ack_only, lazy=[publish_home])
    # URL buttons: Slack opens the page and tells the app too; nothing more to do.
    app.action(ids.CONNECT_TRACKER)(ack_only)
    app.action(ids.RECONNECT_TRACKER)(ack_only)
    app.action(ids.NOTIFY_TOGGLE)(ack=ack_only, lazy=[toggle_notifications])
    app.action(ids.OWN_ACCOUNT)(ack=ack_only, lazy=[own_account_clicked])
    app.action(ids.SUB_REMOVE)(ack=ack_only, lazy=[remove_subscription])
    app.action(ids.SUB_ADD)(ack=ack_only, lazy=[add_subscription])
    app.action(ids.HOME_CREATE)(ack=ack_only, lazy=[create_clicked])
