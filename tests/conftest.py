"""Shared fixtures: a real Redis server, the sandbox ticketing API on loopback, the core."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis
from hypothesis import HealthCheck, settings
from pydantic import SecretStr

from bot.domain.accounts import Account
from bot.ops.config import AppConfig, Settings
from bot.sandbox import SANDBOX_TOKEN, SandboxServer
from bot.sandbox.fake_slack import FakeSlack
from bot.service.lookups import Lookups
from bot.service.snapshots import Snapshots
from bot.service.tickets import TicketService
from bot.store.cache import Cache, FailoverBackend, MemoryBackend, RedisBackend
from bot.truto.client import TrutoClient
from bot.truto.discovery import Discovery
from tests.redis_server import RedisProcess

# HYPOTHESIS_PROFILE=long runs the fuzzing with 10 000 examples (CI uses a few hundred).
settings.register_profile("ci", max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile(
    "long", max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

JIRA = Account(name="jira", integrated_account_id="sandbox-jira", tool="Jira")
LINEAR = Account(
    name="linear",
    integrated_account_id="sandbox-linear",
    tool="Linear",
    ticket_url_template="https://linear.app/acme/issue/{ref}",
)
JIRA_CHANNEL = "CJIRA"
LINEAR_CHANNEL = "CLINEAR"


def _per_worker(url: str) -> str:
    """Under pytest-xdist (`-n 2`) each worker takes a database of its own, counting
    down from the one REDIS_URL names, so one worker's clean-up never deletes another's keys."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return url
    parts = urlsplit(url)
    db = int(parts.path.strip("/") or 0)
    return urlunsplit(parts._replace(path=f"/{max(0, db - int(worker[2:]))}"))


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """REDIS_URL when set (CI), otherwise a redis-server this session starts itself."""
    url = os.environ.get("REDIS_URL")
    if url:
        url = _per_worker(url)
        redis.Redis.from_url(url).ping()
        yield url
        return
    server = RedisProcess()
    server.start()
    yield server.url
    server.stop()


def _clear_bot_keys(url: str) -> None:
    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter("ticketbot:*", count=1000))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def clean_redis(redis_url: str) -> Iterator[str]:
    _clear_bot_keys(redis_url)
    yield redis_url
    _clear_bot_keys(redis_url)


@pytest.fixture
def own_redis() -> Iterator[RedisProcess]:
    """A private Redis the test may stop and start again."""
    server = RedisProcess()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fake_slack_server() -> Iterator[FakeSlack]:
    server = FakeSlack()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def fake_slack(fake_slack_server: FakeSlack) -> FakeSlack:
    fake_slack_server.state.reset()
    fake_slack_server.state.emails = dict(EMAILS)
    return fake_slack_server


@pytest.fixture(scope="session")
def sandbox_server() -> Iterator[SandboxServer]:
    with SandboxServer() as server:
        yield server


@pytest.fixture
def sandbox(sandbox_server: SandboxServer) -> Iterator[SandboxServer]:
    sandbox_server.state.quiesce()
    sandbox_server.state.reset()
    yield sandbox_server
    sandbox_server.state.quiesce()  # a slow answer must not land in the next test


class SleepRecorder:
    """Stands in for asyncio.sleep in the client: records waits, waits for nothing."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> SleepRecorder:
    return SleepRecorder()


@pytest.fixture
async def client(sandbox: SandboxServer, sleeps: SleepRecorder) -> AsyncIterator[TrutoClient]:
    truto = TrutoClient(sandbox.base_url, SecretStr(SANDBOX_TOKEN), sleep=sleeps, timeout=2.0)
    yield truto
    await truto.aclose()


def app_config(base_url: str) -> AppConfig:
    settings = Settings(truto_base_url=base_url, truto_api_token=SANDBOX_TOKEN)
    return AppConfig(
        settings=settings,
        accounts={"jira": JIRA, "linear": LINEAR},
        channels={JIRA_CHANNEL: "jira", LINEAR_CHANNEL: "linear"},
        default_account="jira",
    )


class StaticDirectory:
    """Slack profile emails by Slack user id (the Slack layer's users.info, in tests)."""

    def __init__(self, emails: dict[str, str], groups: dict[str, list[str]] | None = None) -> None:
        self.emails = emails
        self.groups = groups or {}
        self.asked: list[str] = []

    async def email_of(self, slack_user_id: str) -> str | None:
        self.asked.append(slack_user_id)
        return self.emails.get(slack_user_id)

    async def members_of(self, usergroup_id: str) -> frozenset[str]:
        return frozenset(self.groups.get(usergroup_id, ()))

    async def standing(self, slack_user_id: str) -> str | None:
        return None


EMAILS = {"U0ANA": "ana@acme.example", "U0BRUNO": "bruno@acme.example", "U0NOBODY": "nobody@else.example"}
DIRECTORY = {"U0ANA": "ana@acme.example", "U0BRUNO": "bruno@acme.example", "U0NOBODY": "nobody@else.example"}


@pytest.fixture(params=["redis", "memory"])
def cache(request: pytest.FixtureRequest) -> Cache:
    if request.param == "memory":
        return Cache(MemoryBackend())
    url = request.getfixturevalue("clean_redis")
    return Cache(FailoverBackend(RedisBackend.from_url(url)))


@pytest.fixture
def service(sandbox: SandboxServer, client: TrutoClient, cache: Cache) -> TicketService:
    return TicketService(
        app_config(sandbox.base_url),
        client,
        Lookups(client, cache),
        Snapshots(cache),
        StaticDirectory(DIRECTORY),
        discovery=Discovery(client, cache),
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that starts a Redis of its own is a `process` test (modules that start
    `ticketbot serve` or a cluster say so themselves)."""
    for item in items:
        if "own_redis" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.process)
