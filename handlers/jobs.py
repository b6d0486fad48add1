"""Updates kept for a Retry button: when the API fails after the user was told "got it",
nothing they asked for is lost; Retry sends the same update with the same Idempotency-Key."""

from __future__ import annotations

import uuid
from typing import Any

from bot.models import TicketUpdate
from bot.refs import TicketRef
from bot.service import UserInputError
from bot.truto_errors import TrutoError
from handlers.deps import SlackDeps, actor_of
from handlers.surface import card_message, tell, user_message


def _key(token: str) -> str:
    return f"ticketbot:v1:retry:{token}"


async def store_update(
    deps: SlackDeps,
    *,
    account: str,
    ticket_id: str,
    body: dict[str, Any],
    idempotency_key: str,
    channel: str | None,
) -> str:
    """Keep the update; returns the signed value for a Retry button."""
    token = uuid.uuid4().hex
    job = {"a": account, "t": ticket_id, "b": body, "k": idempotency_key, "c": channel}
    await deps.core.cache.store(_key(token), job, ttl=deps.retry_ttl, stale_for=0.0)
    return deps.signer.sign({"j": token})


async def apply_and_post(
    deps: SlackDeps,
    client: Any,
    slack_body: dict[str, Any],
    respond: Any,
    *,
    account_name: str,
    ticket_id: str,
    fields: dict[str, Any],
    key: str,
    channel: str | None,
) -> bool:
    """Apply; post the card to the channel, or tell the user what failed with a Retry button."""
    account = deps.config.account(account_name)
    if account is None:
        raise UserInputError(f"the account {account_name!r} is no longer configured")
    actor = actor_of(slack_body)
    try:
        result = await deps.service.apply_fields(
            account, TicketRef(ticket_id), fields, actor=actor, channel=channel, idempotency_key=key
        )
    except Exception as exc:
        message = user_message(exc)
        if message is None:
            raise
        retry = None
        if isinstance(exc, TrutoError):  # the request was fine: trying again later can work
            body = TicketUpdate(**fields).to_body()
            retry = await store_update(
                deps,
                account=account.name,
                ticket_id=ticket_id,
                body=body,
                idempotency_key=key,
                channel=channel,
            )
        text = f"{ticket_id} was not updated: {message}"
        await tell(slack_body, client, respond, text, channel=channel, retry_value=retry)
        return False
    card = await card_message(
        deps, result.account, result.ticket, changes=result.changes, actor_id=actor.slack_user_id
    )
    # The channel the form was opened from; without one, a direct message to the user.
    await client.chat_postMessage(channel=channel or actor.slack_user_id, **card)
    return True


async def run_stored_update(
    deps: SlackDeps, client: Any, slack_body: dict[str, Any], respond: Any, value: str | None
) -> None:
    data = deps.signer.verify(value)
    token = data.get("j") if data else None
    entry = await deps.core.cache.backend.get(_key(str(token))) if token else None
    if entry is None:
        raise UserInputError("This update expired or was already retried; please make the change again.")
    job = entry.value
    await deps.core.cache.backend.delete(_key(str(token)))
    done = await apply_and_post(
        deps,
        client,
        slack_body,
        respond,
        account_name=job["a"],
        ticket_id=job["t"],
        fields=job["b"],
        key=job["k"],
        channel=job.get("c"),
    )
    if done and slack_body.get("response_url"):
        await respond(delete_original=True)
