"""Revocation takes effect at once on every server process (SPEC §4, §8).

Two real ``i18n-connect serve`` processes share one fresh PostgreSQL database.
A grant revoked through one process answers 410 on the very next call through
the other; so does an installation token revoked alone through RFC 7009.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from i18n_connect import grants
from i18n_connect.clock import SystemClock
from i18n_connect.oauth.clients import create_client
from i18n_connect.platform.accounts import create_user
from i18n_connect.platform.organizations import create_organization
from i18n_connect.services import Services
from i18n_connect.settings import Settings
from i18n_connect.storage.migrate import upgrade

ADMIN_URL = os.environ.get(
    "I18N_CONNECT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
SECRET = "e2e-revocation-secret-0123456789abcdef0123456789"
CLI = Path(sys.executable).with_name("i18n-connect")
START_TIMEOUT_SECONDS = 30


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _admin_engine() -> sa.Engine:
    return sa.create_engine(
        ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )


@pytest.fixture
def fresh_postgres() -> Iterator[str]:
    """A new, migrated PostgreSQL database for this test only; dropped afterwards."""
    admin = _admin_engine()
    try:
        with admin.connect() as conn:
            name = f"i18n_connect_e2e_{uuid.uuid4().hex[:12]}"
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {ADMIN_URL}: {str(exc).splitlines()[0]}")
    url = ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


def _wait_until_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server at {url} exited with status {process.returncode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server at {url} did not become ready in time")


@pytest.fixture
def two_servers(fresh_postgres: str, tmp_path: Path) -> Iterator[tuple[str, str, Settings]]:
    """Two server processes on one database and one issuer; their base URLs and settings."""
    ports = [_free_port(), _free_port()]
    issuer = f"http://127.0.0.1:{ports[0]}"
    env = {
        **os.environ,
        "I18N_CONNECT_DATABASE_URL": fresh_postgres,
        "I18N_CONNECT_SECRET_KEY": SECRET,
        "I18N_CONNECT_ISSUER": issuer,
        "I18N_CONNECT_LOG_LEVEL": "warning",
    }
    env.pop("I18N_CONNECT_REDIS_URL", None)
    processes = []
    try:
        for port in ports:
            log = (tmp_path / f"server-{port}.log").open("wb")
            processes.append(
                subprocess.Popen(
                    [str(CLI), "serve", "--host", "127.0.0.1", "--port", str(port)],
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        urls = [f"http://127.0.0.1:{port}" for port in ports]
        for url, process in zip(urls, processes, strict=True):
            _wait_until_ready(url, process)
        settings = Settings(database_url=fresh_postgres, issuer=issuer, secret_key=SECRET)
        yield urls[0], urls[1], settings
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)


async def _seed(settings: Settings) -> tuple[str, str, str]:
    """A user, an organization, a public client with a grant; the grant, client and access token."""
    services = Services.build(settings, clock=SystemClock())
    now = services.clock.now()
    try:
        await services.keys.load()
        async with services.db.transaction() as conn:
            user = await create_user(
                conn, email="ada@example.com", password="correct horse", name="Ada", now=now
            )
            org = await create_organization(
                conn, slug="acme", name="Acme", owner_user_id=user.id, now=now
            )
            client, _ = await create_client(
                conn,
                name="Partner",
                redirect_uris=["http://127.0.0.1/cb"],
                confidential=False,
                now=now,
                hasher=services.hasher,
            )
            [grant] = await grants.consent(
                conn,
                user_id=user.id,
                client_id=client.id,
                organization_ids=[org.id],
                scope=["org:read"],
                now=now,
            )
        issued = await services.tokens.issue(
            user_id=user.id,
            client_id=client.id,
            scope=["org:read"],
            grant_ids=[grant.id],
            audience=settings.api_resource,
        )
        return grant.id, client.id, issued.token
    finally:
        await services.db.dispose()


def test_a_revoked_grant_answers_410_on_the_next_call_through_another_process(
    two_servers: tuple[str, str, Settings],
) -> None:
    first, second, settings = two_servers
    grant_id, client_id, access = asyncio.run(_seed(settings))
    auth = {"Authorization": f"Bearer {access}"}
    with httpx.Client(timeout=10) as http:
        minted = http.post(
            f"{first}/api/oauth-client/installations/{grant_id}/tokens", headers=auth
        )
        assert minted.status_code == 201, minted.text
        token = minted.json()["installation_token"]
        again = http.post(
            f"{second}/api/oauth-client/installations/{grant_id}/tokens", headers=auth
        )
        assert again.status_code == 201, again.text
        spare = again.json()["installation_token"]
        for base in (first, second):  # warm: both processes have seen the token as valid
            ok = http.get(f"{base}/api/oauth-client/organizations", headers={"x-api-key": token})
            assert ok.status_code == 200, ok.text

        single = http.post(
            f"{second}/api/auth/mcp/revoke", data={"token": spare, "client_id": client_id}
        )
        assert single.status_code == 200
        refused = http.get(f"{first}/api/oauth-client/organizations", headers={"x-api-key": spare})
        assert (refused.status_code, refused.json()["error"]) == (410, "grant_revoked")

        revoked = http.delete(f"{first}/api/oauth-client/installations/{grant_id}", headers=auth)
        assert revoked.status_code == 204
        for base in (second, first):
            gone = http.get(f"{base}/api/oauth-client/organizations", headers={"x-api-key": token})
            assert (gone.status_code, gone.json()["error"]) == (410, "grant_revoked")
        remint = http.post(
            f"{second}/api/oauth-client/installations/{grant_id}/tokens", headers=auth
        )
        assert (remint.status_code, remint.json()["error"]) == (410, "grant_revoked")
