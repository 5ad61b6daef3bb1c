"""Real servers and seeded state for the multi-process and fault tests (imported by name:
tests/e2e is on sys.path).

`ServerProcess` runs ``i18n-connect serve`` as a subprocess on a free loopback
port; `fresh_postgres` creates a migrated database on the shared PostgreSQL
and drops it afterwards; `Seed` writes users, an organization, a public client,
grants, codes, refresh tokens and installation tokens through the project's own
functions; `invariants` lists every broken storage invariant.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.pool import NullPool

from factories import (
    authorization_code,
    consented,
    installation_token,
    partner_client,
    user_owning,
)
from i18n_connect import grants, installations
from i18n_connect.clock import SystemClock
from i18n_connect.oauth import refresh
from i18n_connect.platform.projects import create_project
from i18n_connect.scopes import CATALOG
from i18n_connect.services import Services
from i18n_connect.settings import Settings
from i18n_connect.storage.migrate import upgrade
from i18n_connect.storage.oauth_tables import authorization_codes, refresh_tokens
from i18n_connect.storage.oauth_tables import grants as grants_table

ADMIN_URL = os.environ.get(
    "I18N_CONNECT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
SECRET = "e2e-multiprocess-secret-0123456789abcdef01234567"
CLI = Path(sys.executable).with_name("i18n-connect")
REDIRECT_URI = "http://127.0.0.1:9/callback"
VERIFIER = "e2e-verifier-" + "v" * 40
SCOPES = tuple(CATALOG)
TOKEN_PATH = "/api/auth/mcp/token"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def sync_url(url: str) -> str:
    if url.startswith("postgresql://"):
        return url.replace("postgresql://", "postgresql+psycopg://", 1)
    return url


@contextmanager
def fresh_postgres(admin_url: str = ADMIN_URL) -> Iterator[str]:
    """A new, migrated PostgreSQL database on ``admin_url``'s server; dropped afterwards."""
    admin = sa.create_engine(sync_url(admin_url), isolation_level="AUTOCOMMIT", poolclass=NullPool)
    name = f"i18n_connect_e2e_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # unreachable server: skip locally, fail in CI
        admin.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {admin_url}: {str(exc).splitlines()[0]}")
    url = admin_url.rsplit("/", 1)[0] + "/" + name
    try:
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class ServerProcess:
    """One ``i18n-connect serve`` subprocess (one worker) on 127.0.0.1."""

    database_url: str
    log_dir: Path
    issuer: str | None = None
    env: dict[str, str] = field(default_factory=dict)
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 30) -> ServerProcess:
        environment = {k: v for k, v in os.environ.items() if not k.startswith("I18N_CONNECT_")}
        environment.update(
            I18N_CONNECT_DATABASE_URL=self.database_url,
            I18N_CONNECT_SECRET_KEY=SECRET,
            I18N_CONNECT_ISSUER=self.issuer or self.url,
            I18N_CONNECT_LOG_LEVEL="warning",
            **self.env,
        )
        log = (self.log_dir / f"server-{self.port}.log").open("ab")
        self.process = subprocess.Popen(
            [str(CLI), "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"the server exited with {self.process.returncode}:\n{self.log()}"
                )
            try:
                if httpx.get(f"{self.url}/readyz", timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"the server did not become ready in {timeout:.0f} s:\n{self.log()}")

    def log(self) -> str:
        path = self.log_dir / f"server-{self.port}.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def kill(self) -> None:
        """SIGKILL: no shutdown, no cleanup, open transactions cut off."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)


@contextmanager
def servers(
    database_url: str, log_dir: Path, count: int, **env: str
) -> Iterator[list[ServerProcess]]:
    """``count`` server processes on one database, sharing the first one's issuer."""
    first_port = free_port()
    issuer = f"http://127.0.0.1:{first_port}"
    started: list[ServerProcess] = []
    try:
        for index in range(count):
            server = ServerProcess(database_url, log_dir, issuer=issuer, env=dict(env))
            if index == 0:
                server.port = first_port
            started.append(server.start())
        yield started
    finally:
        for server in started:
            server.stop()


@dataclass
class Seed:
    """A user who owns one organization with a project, and one public client."""

    settings: Settings
    services: Services
    user_id: str
    organization_id: str
    project_id: str
    client_id: str

    @classmethod
    async def create(cls, database_url: str, issuer: str) -> Seed:
        """Seed a database that a server process uses (same secret as `ServerProcess`)."""
        settings = Settings(database_url=database_url, issuer=issuer, secret_key=SECRET)
        return await cls.create_with(Services.build(settings, clock=SystemClock()))

    @classmethod
    async def create_with(cls, services: Services) -> Seed:
        """Seed through existing services (an in-process app's)."""
        settings = services.settings
        await services.keys.load()
        now = services.clock.now()
        async with services.db.transaction() as conn:
            orgs = await user_owning(conn, "usr_ada", "ada@example.com", ("acme",), now=now)
            project = await create_project(
                conn,
                organization_id=orgs["acme"],
                name="Website",
                slug="website",
                source_language="en",
                now=now,
            )
            client_id, _ = await partner_client(
                conn, "Partner", [REDIRECT_URI], hasher=services.hasher, now=now
            )
        return cls(settings, services, "usr_ada", orgs["acme"], project.id, client_id)

    async def close(self) -> None:
        await self.services.db.dispose()

    async def grant(self, client_id: str | None = None) -> str:
        """The live grant of the user and the client on the organization (created once)."""
        async with self.services.db.transaction() as conn:
            made = await consented(
                conn,
                user_id=self.user_id,
                client_id=client_id or self.client_id,
                organizations={"acme": self.organization_id},
                scope=SCOPES,
                now=self.services.clock.now(),
            )
        return made["acme"]

    async def new_client(self, name: str) -> str:
        async with self.services.db.transaction() as conn:
            client_id, _ = await partner_client(
                conn,
                name,
                [REDIRECT_URI],
                hasher=self.services.hasher,
                now=self.services.clock.now(),
            )
        return client_id

    async def codes(self, count: int, grant_id: str, client_id: str | None = None) -> list[str]:
        async with self.services.db.transaction() as conn:
            return [
                await authorization_code(
                    conn,
                    user_id=self.user_id,
                    client_id=client_id or self.client_id,
                    grant_ids=[grant_id],
                    scope=" ".join(SCOPES),
                    redirect_uri=REDIRECT_URI,
                    code_verifier=VERIFIER,
                    now=self.services.clock.now(),
                    hasher=self.services.hasher,
                )
                for _ in range(count)
            ]

    async def refresh_token(self, grant_id: str) -> str:
        async with self.services.db.transaction() as conn:
            grant = await grants.get_grant(conn, grant_id)
            assert grant is not None
            _, token = await refresh.start_chain(
                conn,
                grant,
                scope=" ".join(SCOPES),
                resource=None,
                now=self.services.clock.now(),
                hasher=self.services.hasher,
                code_id=None,
                chains_per_grant=10,
            )
            return token

    async def installation_token(
        self, grant_id: str, client_id: str | None = None
    ) -> installations.MintedToken:
        return await installation_token(
            self.services,
            user_id=self.user_id,
            client_id=client_id or self.client_id,
            grant_id=grant_id,
            scope=SCOPES,
        )


def exchange_form(code: str, client_id: str) -> dict[str, str]:
    return {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": client_id,
        "code_verifier": VERIFIER,
    }


def refresh_form(token: str, client_id: str) -> dict[str, str]:
    return {"grant_type": "refresh_token", "refresh_token": token, "client_id": client_id}


def invariants(database_url: str) -> list[str]:
    """Every broken storage invariant of codes, grants and refresh chains (empty: all hold)."""
    engine = sa.create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            codes = conn.execute(sa.select(authorization_codes)).all()
            grant_rows = {row.id: row for row in conn.execute(sa.select(grants_table))}
            tokens = conn.execute(sa.select(refresh_tokens)).all()
    finally:
        engine.dispose()
    broken = []
    consumed = {code.id for code in codes if code.consumed_at is not None}
    by_grant: dict[str, list[sa.Row[tuple[object, ...]]]] = {}
    for token in tokens:
        by_grant.setdefault(token.grant_id, []).append(token)
        grant = grant_rows.get(token.grant_id)
        if grant is None or grant.revoked_at is not None:
            broken.append(f"refresh token {token.id} of a revoked or missing grant")
        if token.code_id is not None and token.code_id not in consumed:
            broken.append(f"refresh token {token.id} from the unconsumed code {token.code_id}")
        if token.used_at is not None and not any(t.parent_id == token.id for t in tokens):
            broken.append(f"used refresh token {token.id} without a successor")
    for code in codes:
        if code.id not in consumed:
            continue
        for grant_id in code.grant_ids:
            grant = grant_rows.get(grant_id)
            if grant is not None and grant.revoked_at is None and not by_grant.get(grant_id):
                broken.append(
                    f"consumed code {code.id}: live grant {grant_id} has no refresh token"
                )
    by_chain: dict[str, list[sa.Row[tuple[object, ...]]]] = {}
    for token in tokens:
        by_chain.setdefault(token.chain_id, []).append(token)
    for chain_id, chain in by_chain.items():
        live = [t for t in chain if t.used_at is None and t.revoked_at is None]
        if len(live) > 1:
            broken.append(f"refresh chain {chain_id} has {len(live)} live refresh tokens")
    return broken
