"""Shared fixtures: a migrated database on each backend, an app, and an HTTP client.

Tests that take `database_url` (or anything built on it) run once on SQLite and
once on PostgreSQL. PostgreSQL must be reachable in CI (CI=true); elsewhere its
tests are skipped with the reason shown.
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from i18n_connect.app import create_app
from i18n_connect.clock import FrozenClock
from i18n_connect.services import Services
from i18n_connect.settings import Settings
from i18n_connect.storage.migrate import upgrade
from i18n_connect.storage.tables import metadata
from i18n_connect.web.observability import configure_logging

POSTGRES_ADMIN_URL = os.environ.get(
    "I18N_CONNECT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
ISSUER = "http://testserver"
SECRET = "test-secret-0123456789abcdef0123456789abcdef"
BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


def _postgres_reachable() -> str | None:
    engine = sa.create_engine(POSTGRES_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"))
    try:
        with engine.connect():
            return None
    except Exception as exc:
        return str(exc).splitlines()[0]
    finally:
        engine.dispose()


@pytest.fixture(scope="session")
def postgres_template() -> Iterator[str]:
    """A PostgreSQL database of this test run, migrated once; dropped at the end."""
    problem = _postgres_reachable()
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {problem}")
        pytest.skip(f"PostgreSQL unreachable at {POSTGRES_ADMIN_URL}: {problem}")
    name = f"i18n_connect_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(
        POSTGRES_ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"),
        isolation_level="AUTOCOMMIT",
    )
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


def _truncate_postgres(url: str) -> None:
    engine = sa.create_engine(url.replace("postgresql://", "postgresql+psycopg://"))
    names = ", ".join(f'"{table.name}"' for table in metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A migrated, empty database: a fresh SQLite file, or the run's PostgreSQL database."""
    if request.param == "sqlite":
        path = tmp_path / "test.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    url: str = request.getfixturevalue("postgres_template")
    _truncate_postgres(url)
    yield url


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, issuer=ISSUER, secret_key=SECRET)


@pytest.fixture
async def services(settings: Settings, clock: FrozenClock) -> AsyncIterator[Services]:
    """The services on their own, for tests below the HTTP edge."""
    built = Services.build(settings, clock=clock)
    await built.keys.load()  # as the server's start-up does
    yield built
    await built.db.dispose()


@pytest.fixture
async def app_client(settings: Settings, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process HTTP client of a fresh app on the test database."""
    app = create_app(settings, clock=clock)
    await app.state.services.keys.load()  # the signing keys the server's start-up creates
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as client:
        client.app = app  # type: ignore[attr-defined]  # tests reach services through it
        yield client
    await app.state.services.db.dispose()


@asynccontextmanager
async def _started(settings: Settings, clock: FrozenClock) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=ISSUER) as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


@pytest.fixture
def start_app(
    clock: FrozenClock,
) -> Callable[[Settings], AbstractAsyncContextManager[httpx.AsyncClient]]:
    """Start an app on the given settings with its lifespan running (signing keys loaded,
    MCP sessions started), as an in-process client."""
    return lambda settings: _started(settings, clock)


@pytest.fixture
async def running_app(
    settings: Settings,
    start_app: Callable[[Settings], AbstractAsyncContextManager[httpx.AsyncClient]],
) -> AsyncIterator[httpx.AsyncClient]:
    """An in-process client of an app on the test database whose lifespan runs."""
    async with start_app(settings) as client:
        yield client


@pytest.fixture
def json_logs() -> Iterator[None]:
    """What ``serve`` sets up for its process, undone afterwards for the tests that follow."""
    root, transport = logging.getLogger(), logging.getLogger("mcp.server.streamable_http")
    handlers, level, transport_level = list(root.handlers), root.level, transport.level
    configure_logging("info")
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    transport.setLevel(transport_level)
