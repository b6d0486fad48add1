"""The first request a process serves does not depend on auth.test. Bolt's own single-workspace
authorization asks auth.test then, and when Slack does not answer it acknowledges the request
200 with "Please install this app into the workspace" and does nothing: an acknowledged update
dropped at start-up, which the soak counted as lost. Now auth.test is asked at start-up, and a
request that comes while it fails goes on with the token."""

from __future__ import annotations

from tests.scenarios.conftest import Harness, last


async def test_an_update_sent_while_auth_test_fails_is_applied_and_carded(harness: Harness) -> None:
    harness.slack.state.fail_next("auth.test", error="internal_error")
    harness.slack.state.fail_next("auth.test", status=503)
    response = await harness.command("update PROJ-42 priority=high")
    assert response.status_code == 200
    assert response.content == b""  # not "Please install this app into the workspace"
    [patch] = harness.sandbox.state.calls("PATCH")
    assert patch.body == {"priority": {"id": "jp2", "name": "High"}}
    assert "PROJ-42" in last(harness.calls("chat.postMessage"))["text"]


async def test_auth_test_is_asked_once_for_many_first_requests(harness: Harness) -> None:
    # Requests through Bolt (an update's fast ack needs no authorization: handlers/fast_ack.py).
    for ticket in ("PROJ-41", "PROJ-42", "PROJ-43"):
        assert (await harness.command(f"show {ticket}")).status_code == 200
    assert len(harness.calls("auth.test")) == 1
    assert len(harness.sandbox.state.calls("GET")) >= 3
