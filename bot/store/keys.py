"""Every Redis key the bot writes is built here, under one namespace per deployment.

Two deployments on one Redis (staging and production, or one per tool account) never share a
key: `REDIS_NAMESPACE`, or by default a name derived from the Slack app (its signing secret,
hashed) and the set of connected accounts. The exceptions are meant to be shared: the API
budgets of an account and of a token (`shared(...)`), which every deployment using that account
or token must count together.

Redis Cluster: keys used together in one command or script share a hash tag (`{…}`): the job
stream and its repeat markers. Every other key is used alone and spreads over the cluster.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from bot.domain.accounts import Account

PREFIX = "ticketbot"
LEGACY_NAMESPACE = "v1"  # the keys of versions before namespaces
LEGACY_JOBS_STREAM = f"{PREFIX}:{LEGACY_NAMESPACE}:jobs"
_namespace = LEGACY_NAMESPACE


def use(namespace: str) -> None:
    """Set the deployment's namespace (once, at start-up)."""
    global _namespace
    _namespace = namespace


def current() -> str:
    return _namespace


def derive(signing_secret: str | None, integrated_account_ids: Iterable[str]) -> str:
    """A stable name for a deployment: the same Slack app and accounts give the same name."""
    seed = "|".join([signing_secret or "", *sorted(integrated_account_ids)])
    return "d" + hashlib.sha256(seed.encode()).hexdigest()[:12]


def key(*parts: str) -> str:
    return ":".join((PREFIX, _namespace, *parts))


def jobs_stream() -> str:
    return f"{PREFIX}:{{{_namespace}:jobs}}:stream" if _namespace != LEGACY_NAMESPACE else LEGACY_JOBS_STREAM


def jobs_marker(once: str) -> str:
    """A repeat marker, written in one script with the job: same hash slot as the stream."""
    if _namespace == LEGACY_NAMESPACE:
        return f"{PREFIX}:{LEGACY_NAMESPACE}:dedupe:{once}"
    return f"{PREFIX}:{{{_namespace}:jobs}}:dedupe:{once}"


def shared(*parts: str) -> str:
    """Keys every deployment shares on purpose (an account's or a token's API budget)."""
    return ":".join((PREFIX, "shared", *parts))


def cache_key(account: Account, kind: str, name: str) -> str:
    """An account's cached object: `lookup` lists, `ticket` snapshots, `unfurl`s, `discovery`."""
    return key(account.integrated_account_id, kind, name)
