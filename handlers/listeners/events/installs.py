"""A workspace that uninstalls the app, and people who leave it.

Distributed mode: a workspace that uninstalls the app (or revokes its bot token) is forgotten
at once: its installation and connected accounts deleted, its cached data purged, its queued jobs
answered with nothing (the worker finds no installation), its cards no longer kept live (no
account of its own is left to match a webhook)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext

from bot.service.audit import forget_tenant
from bot.store.purge import purge_accounts, purge_tenant
from handlers.jobs import notify_people, reminders, subscribers, thread_sync
from handlers.kit.deps import SlackDeps
from handlers.kit.payloads import dig
from handlers.kit.surface import ack_only
from handlers.kit.tenancy import Tenancy

log = logging.getLogger(__name__)


def register_people(app: AsyncApp) -> None:
    """Either mode: a person deactivated in Slack loses their own connections to the tool."""

    async def person_deactivated(body: dict[str, Any], context: AsyncBoltContext) -> None:
        user = dig(body, "event", "user")
        deps: SlackDeps = context["deps"]
        if not isinstance(user, dict) or user.get("deleted") is not True or deps.personal is None:
            return
        workspace = await deps.workspace_id()
        if workspace is not None and isinstance(user.get("id"), str):
            gone = await deps.personal.forget(workspace, user["id"])
            log.info("%s deactivated in %s: %d own connections forgotten", user["id"], workspace, len(gone))

    app.event("user_change")(ack=ack_only, lazy=[person_deactivated])


def register_single(app: AsyncApp) -> None:
    """Single-workspace mode: uninstalled, the people's own connections are forgotten (the
    configured accounts are the operator's)."""

    async def uninstall(body: dict[str, Any], context: AsyncBoltContext) -> None:
        event = body.get("event") or {}
        if event.get("type") == "tokens_revoked" and not dig(event, "tokens", "bot"):
            return
        deps: SlackDeps = context["deps"]
        workspace = await deps.workspace_id()
        if deps.personal is not None and workspace is not None:
            gone = await deps.personal.forget(workspace)
            log.info("uninstalled: %d people's own connections forgotten", len(gone))

    app.event("app_uninstalled")(ack=ack_only, lazy=[uninstall])
    app.event("tokens_revoked")(ack=ack_only, lazy=[uninstall])


def register(app: AsyncApp, tenancy: Tenancy) -> None:
    async def uninstall(body: dict[str, Any], context: AsyncBoltContext) -> None:
        event = body.get("event") or {}
        if event.get("type") == "tokens_revoked" and not dig(event, "tokens", "bot"):
            return  # only user tokens revoked: the bot still works
        tenant = context["deps"].tenant
        if tenant is None:
            return
        team = None if context.is_enterprise_install else context.team_id
        gone = await tenancy.workspaces.uninstall(tenant, enterprise_id=context.enterprise_id, team_id=team)
        redis = tenancy.deps.core.redis
        await subscribers.store_of(tenancy.deps).forget_digests_of(gone)
        purged = await purge_accounts(redis, gone) + await purge_tenant(redis, tenant)
        purged += await forget_tenant(redis, tenant)  # its records in the audit trail
        await notify_people.store_of(tenancy.deps, tenant).forget_all()
        await reminders.forget(tenancy.deps, tenant)
        await thread_sync.forget_tenant(tenancy.deps, tenant)
        if tenancy.deps.personal is not None:  # people's own connections go with the workspace
            await tenancy.deps.personal.forget(tenant)
        log.info("%s uninstalled: %d accounts forgotten, %d cached keys purged", tenant, len(gone), purged)

    app.event("app_uninstalled")(ack=ack_only, lazy=[uninstall])
    app.event("tokens_revoked")(ack=ack_only, lazy=[uninstall])
