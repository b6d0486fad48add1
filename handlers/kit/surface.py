"""Answering the user on whatever surface a request came from: errors, notes, cards."""

from __future__ import annotations

import functools
import inspect
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from blocks.messages import error_blocks, notice_blocks, with_mentions
from blocks.text import sentence
from bot.domain.actors import Actor
from bot.domain.errors import Notice, UserInputError
from bot.ops.metrics import JOBS_PENDING
from bot.store import ack_budget
from bot.truto.errors import TrutoError
from handlers.kit import texts
from handlers.kit.deps import deps_of
from handlers.kit.payloads import channel_of, user_of

# Bolt's `respond` and `ack`, as this kit calls them (the kit itself knows nothing of Bolt).
Respond = Callable[..., Awaitable[Any]]
Ack = Callable[..., Awaitable[Any]]

log = logging.getLogger(__name__)

Lazy = Callable[..., Awaitable[None]]
NOT_A_MEMBER = ("not_in_channel", "channel_not_found", "is_archived")  # the bot may not post there


def user_message(exc: BaseException) -> str | None:
    """The answer for an error the user can act on; None for an unexpected one."""
    if isinstance(exc, UserInputError):
        return str(exc)
    if isinstance(exc, TrutoError):
        return exc.user_message
    return None


def asker_of(body: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    """Who asked and where, from any Slack payload (a slash command's form or an interaction's
    JSON), as a job records it (`overrides` win: a modal's channel comes from its metadata)."""
    user: dict[str, Any] = body["user"] if isinstance(body.get("user"), dict) else {}
    team: dict[str, Any] = body["team"] if isinstance(body.get("team"), dict) else {}
    asked = {
        "channel": channel_of(body),
        "user": user_of(body),
        "user_name": body.get("user_name") or user.get("username") or user.get("name"),
        "team": body.get("team_id") or team.get("id"),
        "response_url": body.get("response_url"),
    }
    return {**asked, **overrides}


def actor_of(body: dict[str, Any]) -> Actor:
    """The Slack user behind a payload (slash command, interaction or shortcut)."""
    asked = asker_of(body)
    return Actor(slack_user_id=asked["user"], name=asked["user_name"])


def in_place(body: dict[str, Any]) -> dict[str, Any]:
    """A job's result replaces the message a button was clicked on (ephemeral or not)."""
    container = body.get("container") or {}
    on_message = container.get("type") == "message"
    return {
        "reply": "replace",
        "ephemeral": bool(container.get("is_ephemeral")),
        "message_ts": container.get("message_ts") if on_message else None,
    }


def private_answer(
    message: str, *, notice: bool = False, retry_value: str | None = None, error_id: str | None = None
) -> dict[str, Any]:
    """An answer to one person, as a sentence; a warning sign only when something is wrong."""
    message = sentence(message)
    blocks = notice_blocks(message) if notice else error_blocks(message, retry_value, error_id)
    # The fallback text is mrkdwn too (notifications show it): escaped as the blocks are.
    return {"response_type": "ephemeral", "text": with_mentions(message), "blocks": blocks}


async def to_response_url(url: str, body: dict[str, Any]) -> None:
    response = await AsyncWebhookClient(url).send_dict(body)
    if response.status_code >= 400:
        log.warning("response_url answered %s", response.status_code)


async def answer_privately(
    client: AsyncWebClient,
    answer: dict[str, Any],
    *,
    response_url: str | None,
    channel: str | None,
    user: str | None,
) -> None:
    """To the user alone: via response_url, else chat.postEphemeral, else a DM."""
    if response_url:
        await to_response_url(response_url, {**answer, "replace_original": False})
    elif channel and user:
        await client.chat_postEphemeral(
            channel=channel, user=user, text=answer["text"], blocks=answer["blocks"]
        )
    elif user:
        await client.chat_postMessage(channel=user, text=answer["text"], blocks=answer["blocks"])


async def tell_requester(
    body: dict[str, Any],
    client: AsyncWebClient,
    respond: Respond | None,
    message: str,
    *,
    channel: str | None = None,
    retry_value: str | None = None,
    error_id: str | None = None,
    notice: bool = False,
) -> None:
    """An answer to the user a request came from (`respond` None: not through its response_url).
    A notice (nothing went wrong) has no warning sign."""
    answer = private_answer(message, notice=notice, retry_value=retry_value, error_id=error_id)
    if body.get("response_url") and respond is not None:
        await respond(replace_original=False, **answer)
        return
    await answer_privately(
        client, answer, response_url=None, channel=channel or channel_of(body), user=user_of(body)
    )


def new_error_id() -> str:
    return uuid.uuid4().hex[:8]


async def report_error(
    exc: BaseException, body: dict[str, Any], client: AsyncWebClient, respond: Respond | None
) -> None:
    """The one error policy of every surface: a refusal the user can act on is told as it is; an
    unexpected error is logged with a short id and told as "something went wrong" with that id."""
    message = user_message(exc)
    error_id = None
    if message is None:
        error_id = new_error_id()
        log.error("unexpected error %s", error_id, exc_info=exc)
        message = texts.SOMETHING_WENT_WRONG
    else:
        log.info("refused: %s", message)
        if isinstance(exc, UserInputError) and not isinstance(exc, Notice):
            message = texts.refusal(message)
    try:
        await tell_requester(
            body,
            client,
            respond if body.get("response_url") else None,
            message,
            error_id=error_id,
            notice=isinstance(exc, Notice),
        )
    except Exception:
        log.exception("could not tell the user about error %s", error_id)


def guarded(function: Lazy) -> Lazy:
    """Lazy listeners' errors reach the user (Bolt would only log them). Bolt passes a listener
    the arguments it names, so a guarded one names `client` (and `respond` where it has one)."""
    if "client" not in inspect.signature(function).parameters:
        raise TypeError(f"{function.__name__} is guarded, so it must take `client` to tell errors")

    @functools.wraps(function)
    async def wrapper(**kwargs: Any) -> None:
        ack_budget.end()  # work after the ack is not bound by the ack's Redis budget
        JOBS_PENDING.inc()
        try:
            await function(**kwargs)
        except Exception as exc:
            await report_error(exc, kwargs.get("body") or {}, kwargs["client"], kwargs.get("respond"))
        finally:
            JOBS_PENDING.dec()

    return wrapper


async def ack_only(ack: Ack) -> None:
    await ack()


__all__ = ["ack_only", "deps_of", "guarded", "tell_requester", "user_message"]
