"""Every Redis key the bot writes is built here, under one namespace per deployment.

Two deployments on one Redis (staging and production: two Slack apps) never share a key:
`REDIS_NAMESPACE`, or by default a name derived from the Slack app alone (its signing secret,
hashed), which stays the same when accounts are added or the configuration moves from the
environment to a YAML file. (Versions before named it from the app and the set of accounts:
that namespace is still read, and its keys moved here at start-up; see namespaces.py.) The
exceptions are meant to be shared: the API budgets of an account and of a token (`shared(...)`),
which every deployment using that account or token must count together.

Redis Cluster: keys used together in one command or script share a hash tag (`{…}`): the job
stream, its repeat markers, the replay markers and the quota counters (`jobs_key`). Every other
key is used alone and spreads over the cluster.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from bot.domain.accounts import Account

PREFIX = "ticketbot"
LEGACY_NAMESPACE = "v1"  # the keys of versions before namespaces
LEGACY_JOBS_STREAM = f"{PREFIX}:{LEGACY_NAMESPACE}:jobs"
_namespace = LEGACY_NAMESPACE
_previous: tuple[str, ...] = ()


def use(namespace: str, previous: Iterable[str] = ()) -> None:
    """Set the deployment's namespace (once, at start-up), and the earlier names its keys may
    still be under (read, and moved here)."""
    global _namespace, _previous
    _namespace = namespace
    _previous = tuple(p for p in previous if p != namespace)


def current() -> str:
    return _namespace


def previous() -> tuple[str, ...]:
    return _previous


def derive(signing_secret: str | None) -> str:
    """A stable name for a deployment: the same Slack app gives the same name, whatever its
    accounts."""
    return "a" + hashlib.sha256((signing_secret or "").encode()).hexdigest()[:12]


def derive_with_accounts(signing_secret: str | None, integrated_account_ids: Iterable[str]) -> str:
    """The name versions before this one derived (the Slack app and the set of accounts)."""
    seed = "|".join([signing_secret or "", *sorted(integrated_account_ids)])
    return "d" + hashlib.sha256(seed.encode()).hexdigest()[:12]


def key(*parts: str) -> str:
    return ":".join((PREFIX, _namespace, *parts))


def jobs_stream(namespace: str | None = None) -> str:
    namespace = namespace or _namespace
    return f"{PREFIX}:{{{namespace}:jobs}}:stream" if namespace != LEGACY_NAMESPACE else LEGACY_JOBS_STREAM


def earlier_jobs_streams() -> list[str]:
    """Streams jobs may still wait in after a change of namespace: read until they are empty."""
    streams = [jobs_stream(p) for p in _previous]
    if _namespace != LEGACY_NAMESPACE:
        streams.append(LEGACY_JOBS_STREAM)
    return list(dict.fromkeys(s for s in streams if s != jobs_stream()))


def jobs_key(*parts: str) -> str:
    """A key used in one script with the job stream, so in its hash slot: the repeat markers, the
    replay guard's markers and the per-user quota counters (the fast ack checks all three in the
    job's own write)."""
    if _namespace == LEGACY_NAMESPACE:
        return ":".join((PREFIX, LEGACY_NAMESPACE, *parts))
    return ":".join((PREFIX, f"{{{_namespace}:jobs}}", *parts))


def jobs_marker(once: str) -> str:
    """A repeat marker, written in one script with the job."""
    return jobs_key("dedupe", once)


def workspace(tenant: str, *parts: str) -> str:
    """A workspace's shared state and its change mark: one hash tag, read in one MGET."""
    return key("workspace", "{" + tenant + "}", *parts)


def shared(*parts: str) -> str:
    """Keys every deployment shares on purpose (an account's or a token's API budget)."""
    return ":".join((PREFIX, "shared", *parts))


def cache_key(account: Account, kind: str, name: str) -> str:
    """An account's cached object: `lookup` lists, `ticket` snapshots, `unfurl`s, `discovery`."""
    return key(account.integrated_account_id, kind, name)
