"""The client address behind a reverse proxy: ``serve`` believes ``X-Forwarded-For`` only from
the addresses in ``I18N_CONNECT_TRUSTED_PROXIES``, so the per-address login throttle counts
each user apart behind a trusted proxy and cannot be dodged by a client naming any address."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from multiprocess_support import ServerProcess

from i18n_connect.settings import Settings
from i18n_connect.storage.migrate import upgrade

pytestmark = pytest.mark.timeout(90)

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_FAILURES = 2  # I18N_CONNECT_LOGIN_ADDRESS_FAILURES_PER_WINDOW for these servers
_emails = (f"nobody{number}" for number in itertools.count())


def _server(directory: Path, trusted: str) -> ServerProcess:
    url = f"sqlite:///{directory / 'proxies.db'}"
    upgrade(url)
    env = {
        "I18N_CONNECT_LOGIN_ADDRESS_FAILURES_PER_WINDOW": str(_FAILURES),
        # counters are kept per fixed window: a day-long one keeps a test's few attempts
        # in one window (a 300 s window's edge fell between them about once in 300 runs)
        "I18N_CONNECT_LOGIN_FAILURE_WINDOW_SECONDS": "86400",
    }
    if trusted:
        env["I18N_CONNECT_TRUSTED_PROXIES"] = trusted
    return ServerProcess(url, directory, env=env).start()


@pytest.fixture(params=["127.0.0.1", "127.0.0.0/8"], ids=["address", "network"])
def behind_trusted_proxy(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ServerProcess]:
    server = _server(tmp_path, request.param)
    yield server
    server.stop()


@pytest.fixture(params=["", "10.0.0.5"], ids=["none", "another-address"])
def without_trusted_proxy(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[ServerProcess]:
    server = _server(tmp_path, request.param)
    yield server
    server.stop()


def _failed_login(server: ServerProcess, forwarded_for: str) -> int:
    """One sign-in with a wrong password, sent as if from ``forwarded_for``; the status.
    Every attempt names a new email, so only the per-address counter can refuse it."""
    with httpx.Client(base_url=server.url, timeout=10) as client:
        page = client.get("/login")
        match = _CSRF.search(page.text)
        assert match, "the login page has no CSRF token"
        response = client.post(
            "/login",
            data={"email": f"{next(_emails)}@example.com", "password": "x", "csrf_token": match[1]},
            headers={"X-Forwarded-For": forwarded_for},
        )
        return response.status_code


def test_behind_a_trusted_proxy_each_forwarded_address_is_throttled_apart(
    behind_trusted_proxy: ServerProcess,
) -> None:
    statuses = [_failed_login(behind_trusted_proxy, "203.0.113.5") for _ in range(_FAILURES + 1)]
    assert statuses == [401] * _FAILURES + [429]
    assert _failed_login(behind_trusted_proxy, "203.0.113.6") == 401  # another user, not locked
    # The proxy appends the address it saw: the rightmost untrusted one is the client's.
    assert _failed_login(behind_trusted_proxy, "198.51.100.9, 203.0.113.5") == 429


def test_without_a_trusted_proxy_the_header_is_ignored(
    without_trusted_proxy: ServerProcess,
) -> None:
    statuses = [
        _failed_login(without_trusted_proxy, f"203.0.113.{number}")
        for number in range(_FAILURES + 1)
    ]
    assert statuses == [401] * _FAILURES + [429]  # one address (the connection's) throughout


def test_trusted_proxies_are_normalized() -> None:
    settings = Settings(trusted_proxies=" 10.0.0.5 , 10.1.2.3/16,::1 ")
    assert settings.trusted_proxies == "10.0.0.5/32,10.1.0.0/16,::1/128"
