"""Live selects (block_suggestion): answered from the cached lists, never an API call per key."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from blocks import ids
from blocks.messages import options_payload
from bot.fields import FIELDS
from handlers.deps import deps_of


async def suggest(ack: Any, body: dict[str, Any], context: Any) -> None:
    deps = deps_of(context)
    field = ids.field_of_block(body.get("block_id") or "")
    meta = deps.signer.verify((body.get("view") or {}).get("private_metadata"))
    account = deps.config.account(str(meta.get("a"))) if meta else None
    resource = FIELDS[field].resource if field else None
    if account is None or resource is None:
        await ack(options=[])
        return
    lookup = await deps.core.lookups.get(account, resource)
    found = lookup.index.rank(body.get("value") or "", limit=100)
    await ack(**options_payload(found))


def register(app: AsyncApp) -> None:
    app.options(ids.FIELD_ACTION)(suggest)
