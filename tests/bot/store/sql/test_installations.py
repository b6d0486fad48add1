from __future__ import annotations

import time

import pytest
from slack_sdk.oauth.installation_store.models.installation import Installation
from sqlalchemy import text

from bot.store.sql.cipher import CipherError, TokenCipher, new_key
from bot.store.sql.database import Database
from bot.store.sql.installations import SealedInstallationStore, oauth_state_store

BOT_TOKEN = "xoxb-1111-2222-" + "a" * 24
REFRESH = "xoxe-1-" + "r" * 140  # rotation's refresh tokens are long


def installation(team: str = "T0ACME", *, enterprise: str | None = None, org: bool = False) -> Installation:
    return Installation(
        app_id="A0TICKETBOT",
        enterprise_id=enterprise,
        team_id=None if org else team,
        team_name="Acme",
        bot_token=BOT_TOKEN,
        bot_id="B0BOT",
        bot_user_id="U0BOT",
        bot_scopes="commands,chat:write",
        bot_refresh_token=REFRESH,
        bot_token_expires_in=43200,
        user_id="U0ADMIN",
        is_enterprise_install=org,
        installed_at=time.time(),
    )


async def test_tokens_are_sealed_at_rest_and_open_when_found(database: Database) -> None:
    store = SealedInstallationStore(database, "1234.5678", TokenCipher(new_key()))
    await store.async_save(installation())
    async with database.engine.connect() as conn:
        stored = (await conn.execute(text("SELECT bot_token, bot_refresh_token FROM slack_bots"))).all()
        raw = (await conn.execute(text("SELECT bot_token FROM slack_installations"))).scalar_one()
    assert len(stored) == 1
    # (not "xox" alone: a random ciphertext may hold those three letters)
    assert all(v.startswith("fernet:") and BOT_TOKEN not in v and REFRESH not in v for v in (*stored[0], raw))
    bot = await store.async_find_bot(enterprise_id=None, team_id="T0ACME")
    assert bot is not None and bot.bot_token == BOT_TOKEN and bot.bot_refresh_token == REFRESH
    found = await store.async_find_installation(enterprise_id=None, team_id="T0ACME")
    assert found is not None and found.bot_token == BOT_TOKEN and found.user_id == "U0ADMIN"
    assert await store.async_find_bot(enterprise_id=None, team_id="T0OTHER") is None


async def test_an_org_wide_install_is_found_for_any_of_its_workspaces(database: Database) -> None:
    store = SealedInstallationStore(database, "1234.5678", TokenCipher(new_key()))
    await store.async_save(installation(enterprise="E0GRID", org=True))
    bot = await store.async_find_bot(enterprise_id="E0GRID", team_id="T0ANY", is_enterprise_install=True)
    assert bot is not None and bot.bot_token == BOT_TOKEN and bot.is_enterprise_install


async def test_deleting_forgets_the_team_and_only_it(database: Database) -> None:
    store = SealedInstallationStore(database, "1234.5678", TokenCipher(new_key()))
    await store.async_save(installation("T0ACME"))
    await store.async_save(installation("T0GLOBEX"))
    await store.async_delete_all(enterprise_id=None, team_id="T0ACME")
    assert await store.async_find_bot(enterprise_id=None, team_id="T0ACME") is None
    assert await store.async_find_installation(enterprise_id=None, team_id="T0ACME") is None
    assert await store.async_find_bot(enterprise_id=None, team_id="T0GLOBEX") is not None


async def test_key_rotation_reseals_every_token(database: Database) -> None:
    old, new = new_key(), new_key()
    await SealedInstallationStore(database, "1234.5678", TokenCipher(old)).async_save(installation())
    rotating = SealedInstallationStore(database, "1234.5678", TokenCipher(f"{new},{old}"))
    assert await rotating.reseal_all() == 2  # the installation row and the bot row
    after = SealedInstallationStore(database, "1234.5678", TokenCipher(new))
    bot = await after.async_find_bot(enterprise_id=None, team_id="T0ACME")
    assert bot is not None and bot.bot_token == BOT_TOKEN
    with pytest.raises(CipherError):
        await SealedInstallationStore(database, "1234.5678", TokenCipher(new_key())).async_find_bot(
            enterprise_id=None, team_id="T0ACME"
        )


def test_a_bad_key_is_named() -> None:
    with pytest.raises(ValueError, match="32 url-safe base64-encoded bytes"):
        TokenCipher("hunter2")
    with pytest.raises(ValueError, match="no key"):
        TokenCipher(" , ")


async def test_oauth_state_is_used_once(database: Database) -> None:
    states = oauth_state_store(database)
    state = await states.async_issue()
    assert await states.async_consume(state) is True
    assert await states.async_consume(state) is False
    assert await states.async_consume("forged") is False


async def test_issuing_a_state_sweeps_the_expired_ones(database: Database) -> None:
    states = oauth_state_store(database)
    old = await states.async_issue()
    async with database.engine.begin() as conn:  # as if issued long ago, never used
        await conn.execute(text("UPDATE slack_oauth_states SET expire_at = '2000-01-01 00:00:00'"))
    fresh = await states.async_issue()
    async with database.engine.connect() as conn:
        kept = (await conn.execute(text("SELECT state FROM slack_oauth_states"))).scalars().all()
    assert kept == [fresh]  # opening /slack/install over and over keeps one window's rows at most
    assert await states.async_consume(old) is False


async def test_states_are_bounded_in_all_the_oldest_swept(database: Database) -> None:
    states = oauth_state_store(database, most=30)
    issued = [await states.async_issue() for _ in range(45)]
    async with database.engine.connect() as conn:
        assert (await conn.execute(text("SELECT count(*) FROM slack_oauth_states"))).scalar_one() == 30
    assert await states.async_consume(issued[-1]) is True  # the newest still work
    assert await states.async_consume(issued[0]) is False  # the oldest were swept


async def test_key_rotation_goes_in_batches_one_statement_each(database: Database) -> None:
    from tests.bot.store.sql.test_workspace_state import statements

    old, new = new_key(), new_key()
    sealing = SealedInstallationStore(database, "1234.5678", TokenCipher(old))
    for n in range(7):
        await sealing.async_save(installation(f"T0TEAM{n}"))
    rotating = SealedInstallationStore(database, "1234.5678", TokenCipher(f"{new},{old}"))
    told: list[tuple[str, int]] = []
    sent = statements(database)
    assert await rotating.reseal_all(batch=3, progress=lambda table, rows: told.append((table, rows))) == 14
    assert told == [(t, n) for t in ("slack_installations", "slack_bots") for n in (3, 6, 7)]
    updates = [s for s in sent if s.lstrip().upper().startswith("UPDATE")]
    assert len(updates) == 6  # one a batch, not one a row
    after = SealedInstallationStore(database, "1234.5678", TokenCipher(new))
    for n in range(7):
        bot = await after.async_find_bot(enterprise_id=None, team_id=f"T0TEAM{n}")
        assert bot is not None and bot.bot_token == BOT_TOKEN
