"""Fixtures shared by the whole suite, and the rules that keep a run honest.

The suite runs against one database backend per run:

* default: SQLite, a fresh file per test;
* ``REWARDGATE_TEST_DATABASE_URL=postgresql+asyncpg://user@host:port/db``: that PostgreSQL, a
  fresh schema per test (dropped afterwards), so runs and tests never see each other's data.

When a PostgreSQL URL is given and the server does not answer, the run stops with an error
before any test: it never skips its way to green. A run in which no test passed also fails.
"""

from __future__ import annotations

import asyncio
import logging
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta

import asyncpg
import graphql
import httpx
import pytest
import pytest_asyncio
import redis
import structlog
from asgi_lifespan import LifespanManager
from sqlalchemy.engine import make_url

from app import migrations
from app._types import utcnow
from app.db import Database
from app.log import stop_logging
from app.partners.demo import DemoSeed, seed_demo
from app.runtime import open_services
from app.server import create_app
from app.settings import Settings, load_settings
from graphql_schema._execution import CHECKED_GRAPHQL_CORE, shortcut_is_safe
from tests.vendors.conftest import fast_policy
from vendors.registry import VENDORS

TEST_DATABASE_URL_VARIABLE = "REWARDGATE_TEST_DATABASE_URL"
_passed = 0


def _configured_url() -> str | None:
    value = os.environ.get(TEST_DATABASE_URL_VARIABLE, "").strip()
    return value or None


def _asyncpg_dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def pytest_report_header(config: pytest.Config) -> str:
    url = _configured_url()
    if url is None:
        return "database: SQLite (a fresh file per test)"
    shown = make_url(url).render_as_string(hide_password=True)
    return f"database: {shown} (a fresh schema per test)"


def pytest_sessionstart(session: pytest.Session) -> None:
    if not shortcut_is_safe():
        raise pytest.UsageError(
            f"graphql-core {graphql.__version__} is not one the compiled executor "
            f"(graphql_schema/_execution.py) was checked against "
            f"({', '.join(sorted(CHECKED_GRAPHQL_CORE))}): it reaches into graphql-core's "
            "executor. Run tests/graphql_schema/test_execution.py on it, and add it to "
            "CHECKED_GRAPHQL_CORE and to pyproject.toml's range only if they pass."
        )
    url = _configured_url()
    if url is None:
        return
    if make_url(url).get_backend_name() != "postgresql":
        raise pytest.UsageError(f"{TEST_DATABASE_URL_VARIABLE} must be a PostgreSQL URL")

    async def probe() -> None:
        connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
        await connection.close()

    try:
        asyncio.run(probe())
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        raise pytest.UsageError(
            f"PostgreSQL at {make_url(url).render_as_string(hide_password=True)} is not "
            f"reachable ({exc!r}); start it or unset {TEST_DATABASE_URL_VARIABLE}"
        ) from exc


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    global _passed
    if report.when == "call" and report.passed:
        _passed += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if exitstatus == 0 and _passed == 0:
        session.exitstatus = pytest.ExitCode.NO_TESTS_COLLECTED


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    """Commands under test configure logging for the process; undo it after each test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    stop_logging()
    root.handlers, root.level = handlers, level
    structlog.reset_defaults()


@pytest.fixture
def backend() -> str:
    """``"sqlite"`` or ``"postgresql"``: the backend this run tests."""
    url = _configured_url()
    return "sqlite" if url is None else "postgresql"


TEST_REDIS_URL_VARIABLE = "REWARDGATE_TEST_REDIS_URL"


@pytest.fixture
def redis_url() -> str:
    """A Redis for tests of the shared response cache: ``REWARDGATE_TEST_REDIS_URL`` (CI sets
    it, and then an unreachable Redis fails the run), else a local Redis if one answers."""
    configured = os.environ.get(TEST_REDIS_URL_VARIABLE)
    url = configured or "redis://127.0.0.1:6379/15"
    try:
        with redis.Redis.from_url(url, socket_connect_timeout=1) as client:
            client.ping()
    except redis.RedisError as exc:
        if configured:
            pytest.fail(f"{TEST_REDIS_URL_VARIABLE}={configured} does not answer: {exc}")
        pytest.skip(f"Redis behaviour: runs when {TEST_REDIS_URL_VARIABLE} or a local Redis is up")
    return url


@pytest.fixture
def postgresql_only(backend: str) -> None:
    if backend != "postgresql":
        pytest.skip(f"PostgreSQL behaviour: runs when {TEST_DATABASE_URL_VARIABLE} is set")


@pytest.fixture
def sqlite_only(backend: str) -> None:
    if backend != "sqlite":
        pytest.skip("SQLite behaviour: runs in the SQLite pass of the suite")


@pytest.fixture
def database_location(tmp_path: os.PathLike[str]) -> Iterator[tuple[str, str | None]]:
    """``(database_url, schema)`` of a database nobody has touched yet."""
    url = _configured_url()
    if url is None:
        yield f"sqlite+aiosqlite:///{tmp_path}/rewardgate.db", None
        return
    schema = f"test_{uuid.uuid4().hex[:12]}"
    yield url, schema

    async def drop() -> None:
        connection = await asyncpg.connect(_asyncpg_dsn(url), timeout=5)
        try:
            await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await connection.close()

    asyncio.run(drop())


@pytest.fixture
def settings(database_location: tuple[str, str | None]) -> Settings:
    url, schema = database_location
    # Background jobs are tested on their own; here they would only race the tests.
    return load_settings(
        env_file=None,
        database_url=url,
        database_schema=schema,
        catalog_schedule=False,
        expiry_sweep_seconds=0,
    )


@pytest_asyncio.fixture
async def empty_database(settings: Settings) -> AsyncIterator[Database]:
    database = Database.from_settings(settings)
    yield database
    await database.dispose()


@pytest_asyncio.fixture
async def database(empty_database: Database) -> Database:
    await migrations.upgrade(empty_database)
    return empty_database


@asynccontextmanager
async def gateway_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of a gateway built from ``settings``, in process, lifespan running."""
    app = create_app(settings)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://gateway.test"
        ) as http,
    ):
        yield http


@pytest_asyncio.fixture
async def client(settings: Settings, database: Database) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the gateway, in process, lifespan running, database migrated."""
    async with gateway_client(settings) as http:
        yield http


@pytest_asyncio.fixture
async def demo(database: Database, settings: Settings) -> DemoSeed:
    return await seed_demo(
        database,
        secret=settings.member_token_secret.get_secret_value(),
        now=utcnow(),
        token_lifetime=timedelta(hours=1),
    )


@pytest_asyncio.fixture
async def snapshot(database: Database, settings: Settings) -> None:
    """Every vendor's catalog in the snapshot (the sandboxes are seeded: same every time)."""
    async with open_services(
        settings,
        vendor_policies={spec.name: fast_policy(spec.name) for spec in VENDORS},
        sandbox_rate_limits=False,
    ) as services:
        results = await services.catalog.refresh()
    assert all(result.ok for result in results)
