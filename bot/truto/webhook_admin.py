"""`ticketbot webhooks register|list|delete`: the unified API's webhook that keeps cards live."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

from bot.truto.client import TrutoClient
from bot.truto.errors import NotFound

EVENT_TYPES = ["record:created", "record:updated", "record:deleted"]
# Distributed mode: the connection flow's events (connection-flow.md), for each workspace's tools.
ACCOUNT_EVENT_TYPES = [
    "integrated_account:active",
    "integrated_account:reactivated",
    "integrated_account:authentication_error",
    "integrated_account:validation_error",
    "integrated_account:post_install_error",
    "integrated_account:deleted",
]
RECEIVER_PATH = "/truto/webhooks"

Out = Callable[[str], None]


def check_target(url: str) -> str:
    """The URL a webhook should point at: https (http only on loopback), ending in the receiver's
    path. Raises ValueError with what would be accepted."""
    parts = urlsplit(url)
    loopback = parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise ValueError(f"{url!r}: the URL must be https:// (http:// only for localhost)")
    if not parts.hostname:
        raise ValueError(f"{url!r}: no host name")
    if parts.path.rstrip("/") != RECEIVER_PATH:
        raise ValueError(
            f"{url!r}: the path must be {RECEIVER_PATH} (the bot's receiver), e.g. "
            f"https://ticketbot.example.com{RECEIVER_PATH}"
        )
    return url


def ours(webhook: dict[str, object]) -> bool:
    """A webhook that points at a ticketbot receiver and is sent the record events."""
    target = str(webhook.get("target_url") or "")
    wanted = webhook.get("event_types") or []
    records = not wanted or any(str(e).startswith("record:") for e in wanted)  # type: ignore[attr-defined]
    return (
        urlsplit(target).path.rstrip("/") == RECEIVER_PATH
        and records
        and webhook.get("is_active", True) is not False
    )


async def register(
    client: TrutoClient, url: str, out: Out, *, replace: bool = False, accounts: bool = False
) -> bool:
    """Create the webhook for `url`; one that already points there is left alone (its secret is
    in use) unless `replace`, which deletes it first. False when nothing was done. `accounts`
    (distributed mode): the connection flow's events too."""
    target = check_target(url)
    existing = [w for w in await client.list_webhooks() if str(w.get("target_url") or "") == target]
    if existing and not replace:
        ids = ", ".join(str(w.get("id")) for w in existing)
        out(
            f"A webhook already sends events to {target} ({ids}); nothing was done. Its secret is the "
            "one the bot has. To start over with a new secret: ticketbot webhooks register --url "
            f"{target} --replace"
        )
        return False
    for webhook in existing:
        await client.delete_webhook(str(webhook.get("id")))
        out(f"Webhook {webhook.get('id')} deleted (replaced).")
    events = EVENT_TYPES + (ACCOUNT_EVENT_TYPES if accounts else [])
    created = await client.create_webhook(target, events)
    out(f"Webhook {created.get('id')} created: {', '.join(events)} → {url}")
    secret = created.get("secret")
    if not secret:
        out("The API did not return a secret: delete this webhook and register it again.")
        return True
    out("\nIts secret (shown this once; the API never shows it again):\n")
    out(f"    TRUTO_WEBHOOK_SECRET={secret}\n")
    out("Set it in the bot's environment (a Kubernetes Secret, or .env) and restart the bot.")
    out("While rotating, give both secrets, comma separated, until the old webhook is deleted.")
    return True


async def show(client: TrutoClient, out: Out) -> None:
    webhooks = await client.list_webhooks()
    if not webhooks:
        out("No webhooks. `ticketbot webhooks register --url https://…/truto/webhooks` creates one.")
    for webhook in webhooks:
        active = "active" if webhook.get("is_active", True) else "inactive"
        events = ", ".join(map(str, webhook.get("event_types") or ["every event"]))
        mark = "  ← live cards" if ours(webhook) else ""
        out(f"{webhook.get('id')}  {active}  {webhook.get('target_url')}  ({events}){mark}")


async def delete(client: TrutoClient, webhook_id: str, out: Out) -> bool:
    try:
        await client.delete_webhook(webhook_id)
    except NotFound:
        out(f"No webhook {webhook_id}: `ticketbot webhooks list` shows the environment's webhooks.")
        return False
    out(f"Webhook {webhook_id} deleted.")
    return True
