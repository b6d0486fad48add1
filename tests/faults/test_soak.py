"""A short soak on every CI run: 200 signed updates through two `ticketbot serve` processes
sharing one Redis, with API faults (429, 502, slow answers), a Redis restart and a bot process
killed with SIGKILL on the way. Every acknowledged update is applied once or its user told it
was not; none is lost, none applied twice. The long runs (1000 updates, ten in a row) are
`python bench/soak.py`; their figures are in the README."""

from __future__ import annotations

import pytest

from bench.soak import soak

pytestmark = [pytest.mark.process, pytest.mark.slow]


@pytest.mark.parametrize("rolling", [False, True], ids=["faults-redis-restart-sigkill", "rolling-restart"])
async def test_two_hundred_updates_under_faults_lose_nothing_and_apply_nothing_twice(rolling: bool) -> None:
    results = await soak(200, concurrency=10, seed=11, rolling=rolling)
    assert results["acked"] == 200, results["events"]
    assert results["lost"] == 0, results.get("lost_ids")
    assert results["untold"] == []  # applied, yet no card or answer names the change
    assert results["duplicated"] == 0
    # Each acknowledged update was applied, or its user was told (with Retry) that it may not be.
    assert results["acked"] - results["applied"] - results["told_failed_with_retry"] <= 0
