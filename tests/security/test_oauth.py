"""The install routes (distributed mode): Slack's redirect is accepted only with the state this
deployment issued, in the same browser (its cookie), once; anything else exchanges no code and
stores nothing."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import text

from tests.fleet import ACME, fleet, install
from tests.scenarios.conftest import Harness

__all__ = ["fleet"]  # the fixture


async def issued(fleet: Harness) -> tuple[str, str]:
    page = await fleet.http.get("/slack/install")
    found = re.search(r'href="(https://slack.com/oauth/v2/authorize\?[^"]+)"', page.text)
    assert found is not None
    state = parse_qs(urlsplit(found.group(1).replace("&amp;", "&")).query)["state"][0]
    cookie = "; ".join(f"{k}={v}" for k, v in page.cookies.items())
    return state, cookie


async def installed(fleet: Harness) -> list[str]:
    assert fleet.bot.distributed is not None
    async with fleet.bot.distributed.database.engine.connect() as conn:
        return list((await conn.execute(text("SELECT team_id FROM slack_bots"))).scalars())


async def test_a_forged_or_missing_state_exchanges_no_code(fleet: Harness) -> None:
    state, cookie = await issued(fleet)
    attempts = [
        (f"/slack/oauth_redirect?code={ACME}&state=forged", {"Cookie": cookie}),  # not ours
        (f"/slack/oauth_redirect?code={ACME}&state={state}", {}),  # another browser: no cookie
        (f"/slack/oauth_redirect?code={ACME}", {"Cookie": cookie}),  # no state at all
    ]
    for path, headers in attempts:
        answered = await fleet.http.get(path, headers=headers)
        assert answered.status_code == 400, path
    assert fleet.calls("oauth.v2.access") == []
    assert await installed(fleet) == []


async def test_a_state_works_once(fleet: Harness) -> None:
    state, cookie = await issued(fleet)
    first = await fleet.http.get(
        f"/slack/oauth_redirect?code={ACME}&state={state}", headers={"Cookie": cookie}
    )
    assert first.status_code == 200
    again = await fleet.http.get(
        f"/slack/oauth_redirect?code=T0EVIL&state={state}", headers={"Cookie": cookie}
    )
    assert again.status_code == 401  # Bolt: the state was consumed by the first
    assert [c.args["code"] for c in fleet.calls("oauth.v2.access")] == [ACME]
    assert await installed(fleet) == [ACME]


async def test_slack_refusing_the_code_stores_nothing(fleet: Harness) -> None:
    answered = await install(fleet, "bad-code")
    assert answered.status_code == 401
    assert [c.args["code"] for c in fleet.calls("oauth.v2.access")] == ["bad-code"]
    assert await installed(fleet) == []


async def test_the_user_cancelling_stores_nothing(fleet: Harness) -> None:
    state, cookie = await issued(fleet)
    answered = await fleet.http.get(
        f"/slack/oauth_redirect?error=access_denied&state={state}", headers={"Cookie": cookie}
    )
    assert answered.status_code == 200 and "access_denied" in answered.text
    assert fleet.calls("oauth.v2.access") == [] and await installed(fleet) == []


async def state_rows(fleet: Harness) -> int:
    assert fleet.bot.distributed is not None
    async with fleet.bot.distributed.database.engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM slack_oauth_states"))).scalar_one())


async def test_install_links_are_bounded_per_client(fleet: Harness) -> None:
    """2,000 opens in 11 s left 2,000 rows; now one client opens 20 a minute, then 429."""
    statuses = [(await fleet.http.get("/slack/install")).status_code for _ in range(25)]
    assert statuses == [200] * 20 + [429] * 5
    assert await state_rows(fleet) == 20
