"""``i18n-connect demo`` before it serves: a taken port ends it with one line naming the port
and ``--port``; the banner says where the example partner app is and where its data lives."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from i18n_connect import demo_partner
from i18n_connect.cli import app

SECRET = "cli-test-secret-0123456789abcdef0123456789"


@pytest.fixture
def in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("I18N_CONNECT_DATABASE_URL", f"sqlite:///{tmp_path / 'demo.db'}")
    monkeypatch.setenv("I18N_CONNECT_SECRET_KEY", SECRET)
    monkeypatch.delenv("I18N_CONNECT_ISSUER", raising=False)
    return tmp_path


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def _demo(*args: str) -> Result:
    return CliRunner().invoke(app, ["demo", *args], catch_exceptions=False)


def test_a_taken_port_fails_with_one_line_before_anything_happens(
    in_tmp: Path, taken_port: int
) -> None:
    result = _demo("--port", str(taken_port))
    assert (result.exit_code, result.stdout) == (1, "")
    assert result.stderr == (
        f"error: port {taken_port} on 127.0.0.1 is in use: "
        "stop what listens there, or pick another --port\n"
    )
    assert not (in_tmp / "demo.db").exists()
    assert not (in_tmp / "partner-app.db").exists()


def test_the_banner_names_the_partner_app_and_where_its_data_lives(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    served: list[tuple[str, int, Any]] = []
    monkeypatch.setattr(demo_partner, "port_is_free", lambda host, port: True)
    monkeypatch.setattr(
        demo_partner, "serve_demo", lambda host, port, partner: served.append((host, port, partner))
    )
    result = _demo("--port", "8123")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    banner = result.stdout
    assert banner.startswith("i18n-connect demo\n")
    assert "  Open      http://127.0.0.1:8123/\n" in banner
    assert f"  Example partner app  {demo_partner.PARTNER_APP_URL}/\n" in banner
    assert f"    its own data: {in_tmp / 'partner-app.db'}\n" in banner
    assert banner.endswith("Serving; Ctrl+C stops. Log lines name their server:\n\n")
    assert [(host, port) for host, port, _ in served] == [("127.0.0.1", 8123)]
    assert served[0][2] is not None
    assert (in_tmp / "partner-app.db").exists()


def test_a_busy_partner_port_is_said_in_one_line(
    in_tmp: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(demo_partner, "port_is_free", lambda host, port: port != 8001)
    monkeypatch.setattr(demo_partner, "serve_demo", lambda host, port, partner: None)
    result = _demo("--port", "8123")
    assert result.exit_code == 0, result.stderr
    assert (
        "The example partner app is not served: port 8001 on 127.0.0.1, "
        "the port of its redirect URI, is in use.\n"
    ) in result.stdout
    assert "source checkout" not in result.stdout
    assert not (in_tmp / "partner-app.db").exists()
