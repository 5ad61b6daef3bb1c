"""``i18n-connect demo`` tells the whole story: the platform and the example partner app run
side by side, and a person connects the demo organization from the app in a few clicks."""

from __future__ import annotations

import html
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urljoin

import httpx
import pytest

from i18n_connect import demo_partner

START_TIMEOUT = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[tuple[str, str, str]]:
    """``i18n-connect demo`` on a free port (the partner app on 8001): issuer, email, password."""
    if not demo_partner.port_is_free("127.0.0.1", 8001):
        pytest.skip("port 8001, the demo partner app's redirect URI port, is busy")
    port = _free_port()
    env = {
        **os.environ,
        "I18N_CONNECT_DATABASE_URL": f"sqlite:///{tmp_path / 'demo.db'}",
        "I18N_CONNECT_LOG_LEVEL": "warning",
    }
    env.pop("I18N_CONNECT_ISSUER", None)
    output = tmp_path / "demo.out"
    with output.open("w") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "i18n_connect", "demo", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                raise RuntimeError(output.read_text()[-2000:])
            try:
                if (
                    httpx.get(issuer + "/healthz", timeout=1).status_code == 200
                    and httpx.get(demo_partner.PARTNER_APP_URL + "/login", timeout=1).status_code
                    == 200
                ):
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("i18n-connect demo did not start:\n" + output.read_text())
            time.sleep(0.2)
        text = output.read_text()
        email = re.search(r"Sign in\s+(\S+)", text)
        password = re.search(r"Password\s+(\S+)", text)
        assert email and password, text
        assert f"Example partner app  {demo_partner.PARTNER_APP_URL}/" in text
        assert f"its own data: {tmp_path / 'partner-app.db'}" in text
        yield issuer, email[1], password[1]
    finally:
        process.send_signal(signal.SIGINT)  # Ctrl+C ends both servers
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
    assert process.returncode == 0, output.read_text()[-2000:]
    assert (tmp_path / "partner-app.db").exists()


def _field(page: str, name: str) -> str:
    match = re.search(rf'name="{name}" value="([^"]*)"', page)
    assert match, f"no {name} in the page"
    return html.unescape(match[1])


def test_demo_connects_the_example_partner_app(demo: tuple[str, str, str]) -> None:
    issuer, email, password = demo
    partner_url = demo_partner.PARTNER_APP_URL
    with httpx.Client(base_url=partner_url) as partner, httpx.Client(base_url=issuer) as browser:
        page = partner.get("/login")
        partner.post(
            "/login",
            data={
                "email": "me@partner.test",
                "password": "partner pw",
                "csrf": _field(page.text, "csrf"),
            },
        )
        start = partner.get("/connect/start")
        assert start.status_code == 303 and start.headers["location"].startswith(issuer)
        response = browser.get(start.headers["location"])
        login = browser.get(response.headers["location"])
        response = browser.post(
            "/login",
            data={
                "email": email,
                "password": password,
                "csrf_token": _field(login.text, "csrf_token"),
                "next": _field(login.text, "next"),
            },
        )
        consent = browser.get(response.headers["location"], follow_redirects=True)
        acme = re.search(
            r'name="organization" value="([^"]+)"[^>]*>\s*<span class="check__text">\s*'
            r"<strong>Acme Corp",
            consent.text,
        )
        assert acme, consent.text
        form = [
            ("request_id", _field(consent.text, "request_id")),
            ("csrf_token", _field(consent.text, "csrf_token")),
            ("action", "authorize"),
            ("organization", acme[1]),
            *(("scope", s) for s in ["org:read", "projects:read", "keys:read"]),
        ]
        response = browser.post(
            "/api/auth/mcp/consent",
            content=str(httpx.QueryParams(form)),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        complete = browser.get(response.headers["location"])
        href = re.search(r'href="([^"]+)"\s+rel="noreferrer">Continue to your app', complete.text)
        assert href
        location = urljoin(issuer, html.unescape(href[1]))
        while not location.startswith(partner_url):
            location = urljoin(issuer, browser.get(location).headers["location"])
        callback = partner.get(location.removeprefix(partner_url))
        assert callback.status_code == 303, callback.text
        home = partner.get(callback.headers["location"])
    assert "Connected 1 organization." in home.text
    assert "Acme Web App" in home.text and "Acme Mobile" in home.text
