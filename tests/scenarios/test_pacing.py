"""A channel's subscription lines at Slack's pace, a backlog summarised, other channels unaffected."""

from __future__ import annotations

import asyncio
import time

from handlers.kit.pacing import ChannelPacer


async def test_a_channel_gets_one_line_per_interval_and_a_backlog_as_one_summary() -> None:
    pacer = ChannelPacer(interval=0.05, backlog=2)
    posted: list[tuple[str, str, float]] = []
    summaries: list[tuple[str, list[str]]] = []

    def send(channel: str, ref: str) -> asyncio.Task[bool]:
        async def post() -> None:  # a Web API call takes a moment
            posted.append((channel, ref, time.monotonic()))
            await asyncio.sleep(0.01)

        async def summary(refs: list[str]) -> None:
            summaries.append((channel, refs))

        return asyncio.create_task(pacer.send(channel, ref, post, summary))

    tasks = [send("C1", f"PROJ-{n}") for n in range(1, 6)] + [send("C2", "PROJ-9")]
    results = await asyncio.gather(*tasks)
    assert results == [True, True, False, False, False, True]
    assert [(c, r) for c, r, _ in posted if c == "C1"] == [("C1", "PROJ-1"), ("C1", "PROJ-2")]
    assert summaries == [("C1", ["PROJ-3", "PROJ-4", "PROJ-5"])]  # nothing dropped silently
    c1 = [at for c, _, at in posted if c == "C1"]
    assert c1[1] - c1[0] >= 0.045  # Slack's pace for one channel
    c2 = next(at for c, _, at in posted if c == "C2")
    assert c2 - c1[0] < 0.04  # another channel does not wait for it


async def test_an_idle_channel_is_forgotten() -> None:
    pacer = ChannelPacer(interval=0.0, backlog=5)

    async def nothing(*_: object) -> None:
        return None

    await pacer.send("C1", "PROJ-1", nothing, nothing)
    assert pacer._channels == {}
