"""Prometheus metrics of the process (served at /metrics in HTTP mode)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.process_collector import ProcessCollector

REGISTRY = CollectorRegistry()
ProcessCollector(registry=REGISTRY)

ACK_SECONDS = Histogram(
    "ticketbot_ack_seconds",
    "Time from a Slack request arriving to its answer (the ack), by surface",
    ["surface"],
    buckets=(0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
    registry=REGISTRY,
)
API_SECONDS = Histogram(
    "ticketbot_api_request_seconds",
    "Ticketing API request duration, by operation and HTTP status (or error kind)",
    ["operation", "status"],
    registry=REGISTRY,
)
API_RETRIES = Counter(
    "ticketbot_api_retries_total",
    "Ticketing API retries, by operation and reason",
    ["operation", "reason"],
    registry=REGISTRY,
)
CACHE_EVENTS = Counter(
    "ticketbot_cache_events_total",
    "Cache hits, stale hits, misses and refreshes, by resource",
    ["resource", "event"],
    registry=REGISTRY,
)
UPDATES = Counter(
    "ticketbot_updates_total", "Ticket updates, by outcome (applied, failed)", ["outcome"], registry=REGISTRY
)
CREATES = Counter(
    "ticketbot_creates_total",
    "Tickets created from Slack, by outcome (created, failed, deleted: a create undone)",
    ["outcome"],
    registry=REGISTRY,
)
EDGE_REFUSALS = Counter(
    "ticketbot_edge_refusals_total",
    "Requests to /slack/events refused before Bolt saw them, by reason",
    ["reason"],
    registry=REGISTRY,
)
QUOTA_REFUSALS = Counter(
    "ticketbot_quota_refusals_total", "Requests answered 'too many' by the per-user quota", registry=REGISTRY
)
WEBHOOK_EVENTS = Counter(
    "ticketbot_webhook_events_total",
    "Unified API webhook deliveries, by event type and what was done with them",
    ["event", "verdict"],
    registry=REGISTRY,
)
LIVE_CARDS = Counter(
    "ticketbot_live_cards_total",
    "Cards in Slack brought up to date after a change (updated) or forgotten (dropped: message gone)",
    ["outcome"],
    registry=REGISTRY,
)
UNVERIFIED_BYTES = Gauge(
    "ticketbot_unverified_body_bytes",
    "Bytes reserved by request bodies being read before their signature is checked",
    registry=REGISTRY,
)
CONNECTIONS_REFUSED = Counter(
    "ticketbot_connections_refused_total",
    "Connections closed at once because their client address already held its share",
    registry=REGISTRY,
)
JOBS_PENDING = Gauge("ticketbot_jobs_pending", "Acknowledged work not finished yet", registry=REGISTRY)


_KINDS = ("lookup", "slack", "ticket", "discovery", "unfurl")


def cache_resource(key: str) -> str:
    """The resource a cache key holds: `…:lookup:users` → users, `…:slack:user:U1` → slack_user,
    `…:ticket:PROJ-1` → ticket (wherever the namespace puts them)."""
    parts = key.split(":")
    for index, part in enumerate(parts[:-1]):
        if part in _KINDS:
            if part in ("lookup", "slack"):
                following = parts[index + 1]
                return following if part == "lookup" else f"slack_{following}"
            return part
    return "other"


def exposition() -> bytes:
    return generate_latest(REGISTRY)


SQL_STATEMENTS = Counter(
    "ticketbot_sql_statements_total",
    "Statements sent to the database (distributed mode's, or people's own connections'); a pool's "
    "pre-ping is not one",
    registry=REGISTRY,
)

FULL_COLLECTIONS = Counter(
    "ticketbot_full_collections_total",
    "Full garbage collections of the HTTP process, by why: quiet (no request in flight) or overdue",
    ["reason"],
    registry=REGISTRY,
)
