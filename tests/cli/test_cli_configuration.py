"""Configuration failures of the command line, ``migrate``, and ``serve`` as a real process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from i18n_connect.cli import app

SECRET = "cli-test-secret-0123456789abcdef0123456789"


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in list(os.environ):
        if name.startswith("I18N_CONNECT_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        (
            {"I18N_CONNECT_DATABASE_URL": "postgresql://app@127.0.0.1/app"},
            "I18N_CONNECT_SECRET_KEY (or I18N_CONNECT_SECRET_KEY_FILE) must be set when the "
            "database is not the embedded SQLite store: every process must share it",
        ),
        (
            {"I18N_CONNECT_DATABASE_URL": "mysql://app@127.0.0.1/app"},
            "unsupported database 'mysql': use sqlite:/// or postgresql://",
        ),
        (
            {"I18N_CONNECT_SECRET_KEY": "too-short"},
            "the server secret must be at least 32 characters long",
        ),
        (
            {"I18N_CONNECT_SECRET_KEY_FILE": "/nonexistent/secret"},
            "cannot read I18N_CONNECT_SECRET_KEY_FILE /nonexistent/secret: "
            "No such file or directory",
        ),
        (
            {"I18N_CONNECT_TRUSTED_PROXIES": "10.0.0.5, *"},
            "I18N_CONNECT_TRUSTED_PROXIES: trusted proxies must be IP addresses or networks, "
            "separated by commas, such as 10.0.0.5,10.1.0.0/16",
        ),
        (
            {"I18N_CONNECT_API_RATE_PER_MINUTE": "0"},
            "I18N_CONNECT_API_RATE_PER_MINUTE: Input should be greater than or equal to 1",
        ),
        (
            {
                "I18N_CONNECT_DATABASE_URL": "postgresql://app@127.0.0.1:1/app",
                "I18N_CONNECT_SECRET_KEY": SECRET,
            },
            None,  # unreachable database: the message comes from the driver
        ),
    ],
    ids=[
        "postgres-without-secret",
        "unsupported-url",
        "short-secret",
        "missing-secret-file",
        "wildcard-proxy",
        "rate-below-one",
        "unreachable-database",
    ],
)
@pytest.mark.parametrize("command", [["orgs", "list"], ["migrate"]], ids=["orgs-list", "migrate"])
def test_configuration_problems_end_with_one_line(
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    environment: dict[str, str],
    message: str | None,
    command: list[str],
) -> None:
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 1
    assert result.stdout == ""
    if message is None:
        assert result.stderr.startswith("error: cannot use the database: ")
        assert result.stderr.count("\n") == 1
    else:
        assert result.stderr == f"error: {message}\n"
    assert not (clean_env / "i18n-connect.db").exists()


def test_migrate_creates_the_embedded_database_with_its_secret(clean_env: Path) -> None:
    runner = CliRunner()
    previous = os.umask(0o022)  # the usual umask: world-readable files
    try:
        first = runner.invoke(app, ["migrate"])
    finally:
        os.umask(previous)
    assert (first.exit_code, first.stdout) == (0, "database is up to date\n")
    secret = clean_env / "i18n-connect.db.secret"
    assert secret.stat().st_mode & 0o777 == 0o600
    database = clean_env / "i18n-connect.db"
    assert database.stat().st_mode & 0o777 == 0o600  # password and token hashes, signing keys
    assert len(secret.read_text().strip()) >= 32
    again = runner.invoke(app, ["migrate"])
    assert (again.exit_code, again.stdout) == (0, "database is up to date\n")
    engine = sa.create_engine(f"sqlite:///{clean_env / 'i18n-connect.db'}")
    with engine.connect() as conn:
        assert "organizations" in sa.inspect(conn).get_table_names()
    engine.dispose()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_serve_with_two_workers_migrates_and_answers(clean_env: Path) -> None:
    port = _free_port()
    env = {**os.environ, "I18N_CONNECT_DATABASE_URL": f"sqlite:///{clean_env / 'served.db'}"}
    process = subprocess.Popen(
        [sys.executable, "-m", "i18n_connect", "serve", "--port", str(port), "--workers", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                assert time.monotonic() < deadline, "serve did not answer within 60 s"
                time.sleep(0.3)
        assert (response.status_code, response.json()) == (200, {"status": "ok", "database": "ok"})
        metadata = httpx.get(f"http://127.0.0.1:{port}/.well-known/oauth-authorization-server")
        assert metadata.json()["issuer"] == f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)
        if process.stderr:
            process.stderr.close()
