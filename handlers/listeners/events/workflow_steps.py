"""Workflow Builder steps (Slack's custom steps, the manifest's `functions`): a `function_executed`
event is written as a durable job before its ack (a failed write answers 500, so Slack delivers
it again), keyed by its `function_execution_id`; inputs it cannot run with fail at once."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncBoltContext
from slack_sdk.web.async_client import AsyncWebClient

from bot.domain.commands import CreateCommand
from bot.domain.errors import ParseError, UserInputError
from bot.domain.refs import parse_ref
from bot.domain.workflow_inputs import CREATE_STEP, STEPS, request_of
from handlers.jobs.steps import fail_step
from handlers.kit import texts
from handlers.kit.deps import SlackDeps, idempotency_key
from handlers.kit.job_data import JobData
from handlers.kit.job_queue import enqueue
from handlers.kit.payloads import dig
from handlers.kit.surface import guarded


def _execution(body: dict[str, Any]) -> tuple[str, str, dict[str, Any]]:
    event = body.get("event") or {}
    step = str(dig(event, "function", "callback_id") or "")
    inputs = event.get("inputs")
    return step, str(event.get("function_execution_id") or ""), inputs if isinstance(inputs, dict) else {}


def step_job(deps: SlackDeps, body: dict[str, Any]) -> JobData:
    """The step's job; UserInputError for inputs it cannot run with."""
    step, execution, inputs = _execution(body)
    if step not in STEPS or not execution:
        raise UserInputError(f"unknown step {step!r}")
    request = request_of(step, inputs)
    if step == CREATE_STEP:
        # The line checked now (a mistake fails the step at once); required fields in the job.
        try:
            command = deps.service.parse(request.text or "", request.channel)
        except ParseError as exc:
            raise UserInputError(f"the step's Fields: {exc}") from None
        if not isinstance(command, CreateCommand):
            raise UserInputError("the step's Fields are field=value words, e.g. type=Bug priority=high")
        account = deps.service.account_for(request.channel)
        ticket = ""
    else:
        patterns = tuple(p for a in deps.config.accounts.values() for p in a.link_patterns)
        ref = parse_ref(request.ticket, patterns)
        account = deps.service.account_for_ref(ref, request.channel)
        ticket = ref.id
    return JobData.for_account(
        account,
        kind="step",
        surface="workflow",
        step=step,
        function_execution_id=execution,
        ticket=ticket,
        text=request.text,
        comment=request.comment,
        body={"description": request.description} if request.description else {},
        key=idempotency_key(body.get("team_id"), execution),
        reply="post",
        channel=request.channel,
        user=request.interactor,
        claimed_for=request.claimed_for,
        team=body.get("team_id"),
    )


REFUSED = "step_refused"  # the context key: why a step's inputs cannot run, for refuse_step


async def ack_step(ack: AsyncAck, body: dict[str, Any], context: AsyncBoltContext, deps: SlackDeps) -> None:
    try:
        job = step_job(deps, body)
    except UserInputError as exc:
        context[REFUSED] = str(exc)  # failed by refuse_step, after the ack
    else:
        await enqueue(deps, job, dedupe=job.key)
    await ack()


@guarded
async def refuse_step(body: dict[str, Any], client: AsyncWebClient, context: AsyncBoltContext) -> None:
    """Fail a step whose inputs it cannot run with, saying what to change; nothing is sent."""
    refused = context.get(REFUSED)
    _, execution, _ = _execution(body)
    if refused and execution:
        await fail_step(client, execution, texts.refusal(str(refused)))


def register(app: AsyncApp) -> None:
    for step in STEPS:
        app.function(step)(ack=ack_step, lazy=[refuse_step])
