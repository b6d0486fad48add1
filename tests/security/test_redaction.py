"""A tool's error text reaches Slack redacted: credentials it echoes (api_key=…, a Bearer token,
a Basic credential, a URL with a password), an HTML error page as its words, and a cause of
bounded length, in the answer to the author and in a bulk summary the channel sees."""

from __future__ import annotations

import json

import pytest

from tests.scenarios.conftest import Harness

SECRETS = ("sk_live_4eC39HqLyjWDarjtT1zdp7dc", "sandbox-token-9f8e7d", "hunter2", "YWRtaW46aHVudGVyMg==")
NOISY = {
    "statusCode": 422,
    "error": "Unprocessable Entity",
    "message": "Invalid credentials api_key=sk_live_4eC39HqLyjWDarjtT1zdp7dc / Bearer sandbox-token-9f8e7d",
    "truto_is_remote_error": True,
}
HTML_PAGE = {
    "statusCode": 400,
    "truto_is_remote_error": True,
    "raw_response": "<html><head><title>Error</title></head><body><h1>Bad request</h1>"
    "<p>Retry at https://admin:hunter2@jira.example/rest with Authorization: Basic YWRtaW46aHVudGVyMg==</p>"
    + "<p>"
    + "x" * 5000
    + "</p></body></html>",
}


def said_to_slack(harness: Harness) -> str:
    return json.dumps([c.args for c in harness.slack.state.calls], ensure_ascii=False)


@pytest.mark.parametrize(
    ("status", "body"), [(422, NOISY), (400, HTML_PAGE)], ids=["echoed credentials", "html page"]
)
async def test_the_tools_words_are_redacted_for_the_author(
    edge: Harness, status: int, body: dict[str, object]
) -> None:
    edge.sandbox.state.fail_next(status, method="PATCH", body=body)
    await edge.command("PROJ-42 priority=high")
    said = said_to_slack(edge)
    assert "refused the change" in said
    for secret in SECRETS:
        assert secret not in said
    assert "<html" not in said and "<p>" not in said
    answer = edge.calls("response")[-1].args["text"]
    assert len(answer) < 400


async def test_a_bulk_summary_in_the_channel_carries_a_short_redacted_cause(edge: Harness) -> None:
    edge.sandbox.state.fail_next(422, method="PATCH", body=NOISY, times=3)
    await edge.command("PROJ-41..PROJ-43 priority=high")  # three: no preview first
    said = said_to_slack(edge)
    assert "Failed:" in said
    for secret in SECRETS:
        assert secret not in said
