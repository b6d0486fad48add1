"""Distributed mode: every request and every job runs as its own workspace.

- `Tenancy.deps_for`: the listeners' dependencies for one workspace: its accounts, its bot
  token's Slack client, its tenant stamped on every job it queues.
- `Tenancy.handler`: the worker's handler: a job runs with its tenant's deps and client, or,
  when that workspace is gone, answers nothing.
"""

from __future__ import annotations

import copy
import dataclasses
import logging
from typing import Any

from cachetools import LRUCache
from slack_sdk.web.async_client import AsyncWebClient

from bot.runtime import Core
from bot.service.workspaces import KnownWorkspace, Workspaces
from bot.slack.signing import Signer
from bot.store.activity import WorkspaceActivity
from bot.store.queue import Handler, Job
from handlers.kit.deps import SlackDeps

log = logging.getLogger(__name__)


def web_client(base: AsyncWebClient, token: str | None) -> AsyncWebClient:
    """A client like `base` (its API URL, timeout, retries, proxy) with a workspace's token: a
    copy, its own dicts and list, since building one anew (its user agent, the proxy variables
    read again) is a tenth of a cold workspace's read (#41)."""
    client = copy.copy(base)
    client.token = token.strip() if token is not None else None
    client.headers = dict(base.headers)
    client.default_params = dict(base.default_params)
    client.retry_handlers = list(base.retry_handlers or [])
    return client


class Tenancy:
    def __init__(self, deps: SlackDeps, workspaces: Workspaces, client: AsyncWebClient) -> None:
        self.deps = deps
        self.workspaces = workspaces
        self.client = client  # no token: OAuth's calls, and the base of each workspace's client
        self.activity = WorkspaceActivity(deps.core.redis)
        kept = deps.config.settings.workspaces_kept
        self._signers: LRUCache[str, Signer] = LRUCache(maxsize=kept)
        self._made: LRUCache[str, tuple[KnownWorkspace, tuple[SlackDeps, AsyncWebClient] | None]] = LRUCache(
            maxsize=kept
        )

    async def client_for(self, tenant: str) -> AsyncWebClient | None:
        bot = await self.workspaces.bot(tenant)
        return web_client(self.client, bot.bot_token) if bot is not None else None

    async def deps_for(self, tenant: str, client: AsyncWebClient | None = None) -> SlackDeps | None:
        """The workspace's dependencies, or None when it is not installed. Built once for what
        is known of the workspace (its installation, accounts and settings), so an ack pays a
        dictionary look-up; `client`: a client with the workspace's token to use instead."""
        if client is not None:
            return self._build(tenant, client, await self.workspaces.snapshot(tenant))
        made = await self.made_for(tenant)
        return made[0] if made is not None else None

    async def made_for(self, tenant: str) -> tuple[SlackDeps, AsyncWebClient] | None:
        """The workspace's dependencies and Slack client, kept while what is known of it stays;
        built from that one look-up (a cold workspace's ack waits for nothing more)."""
        known = await self.workspaces.snapshot(tenant)
        made = self._made.get(tenant)
        if made is not None and made[0] is known:
            return made[1]
        pair = None
        if known.bot is not None:
            client = web_client(self.client, known.bot.bot_token)
            pair = (self._build(tenant, client, known), client)
        self._made[tenant] = (known, pair)
        return pair

    def _build(self, tenant: str, client: AsyncWebClient, known: KnownWorkspace) -> SlackDeps:
        self.activity.note(tenant)  # once per read of the workspace, written in batches
        config = self.workspaces.config_of(known)
        core: Core = self.deps.core
        team_core = core.for_workspace(config, client, tenant)
        return dataclasses.replace(
            self.deps,
            config=config,
            core=team_core,
            tenant=tenant,
            signer=self._signer(tenant),
            people_connected=known.people_connected,
        )

    def _signer(self, tenant: str) -> Signer:
        signer = self._signers.get(tenant)
        if signer is None:
            signer = self._signers[tenant] = self.deps.signer.for_tenant(tenant)
        return signer

    def handler(self, run: Any) -> Handler:
        """`run(deps, client)` is the single-workspace handler factory (job_handler or
        dropped_job_handler); each job gets its tenant's."""

        async def handle(job: Job) -> None:
            tenant = job.data.get("tenant")
            made = await self.made_for(tenant) if isinstance(tenant, str) and tenant else None
            if made is None:
                log.info("job %s: its workspace is not installed (any more); dropped unanswered", job.id)
                await self.deps.jobs.complete(job)
                return
            await run(*made)(job)

        return handle
