"""A real ``i18n-connect serve`` process on a free port over a temporary SQLite database,
seeded with a user who owns one organization and administers another, and a partner client."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx
import pytest
from client_e2e_support import PASSWORD, SECRET, RunningServer, free_port, seed

from i18n_connect.settings import Settings
from i18n_connect.storage.migrate import upgrade

START_TIMEOUT = 30.0


@pytest.fixture(scope="module")
def running_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """One server per test module; each test makes its own grants."""
    tmp_path = tmp_path_factory.mktemp("server")
    port = free_port()
    issuer = f"http://127.0.0.1:{port}"
    database_url = f"sqlite:///{tmp_path / 'server.db'}"
    settings = Settings(database_url=database_url, issuer=issuer, secret_key=SECRET)
    upgrade(database_url)
    client_id, organizations, (confidential_id, secret) = asyncio.run(seed(settings))
    env = {
        **os.environ,
        "I18N_CONNECT_DATABASE_URL": database_url,
        "I18N_CONNECT_ISSUER": issuer,
        "I18N_CONNECT_SECRET_KEY": SECRET,
        "I18N_CONNECT_LOG_LEVEL": "warning",
        "I18N_CONNECT_REFRESH_GRACE_SECONDS": "0",  # reuse right away (tests run in seconds)
    }
    log = (tmp_path / "server.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "i18n_connect", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError((tmp_path / "server.log").read_text()[-2000:])
            try:
                if httpx.get(f"{issuer}/healthz", timeout=1).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("i18n-connect serve did not start in time")
            time.sleep(0.1)
        yield RunningServer(
            issuer,
            database_url,
            client_id,
            "ada@example.com",
            PASSWORD,
            organizations,
            confidential_id,
            secret,
        )
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        log.close()
