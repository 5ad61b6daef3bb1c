"""A request body trickled slower than ``I18N_CONNECT_BODY_TIMEOUT_SECONDS`` is answered 408
and the connection closed by a real ``serve``, so a slow client cannot hold it open; a body
sent in time is served as usual."""

from __future__ import annotations

import contextlib
import json
import select
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from multiprocess_support import ServerProcess

from i18n_connect.storage.migrate import upgrade

pytestmark = pytest.mark.timeout(60)

DEADLINE_SECONDS = 2
TRICKLE_FOR_SECONDS = 12  # far past the deadline: the old behaviour kept reading all along


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory: Path = tmp_path_factory.mktemp("body-deadline")
    url = f"sqlite:///{directory / 'deadline.db'}"
    upgrade(url)
    env = {"I18N_CONNECT_BODY_TIMEOUT_SECONDS": str(DEADLINE_SECONDS)}
    running = ServerProcess(url, directory, env=env).start()
    yield running
    running.stop()


def _trickle(port: int) -> tuple[bytes, float, bool]:
    """Declare a 1,000-byte form body, then send one byte every 0.5 s; what came back, after
    how long the connection ended, and whether it did."""
    raw, closed = b"", False
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(
            b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
        )
        started = time.monotonic()
        while not closed and time.monotonic() - started < TRICKLE_FOR_SECONDS:
            with contextlib.suppress(OSError):  # the server may have closed already
                sock.sendall(b"a")
            if select.select([sock], [], [], 0.5)[0]:
                try:
                    chunk = sock.recv(65536)
                except OSError:
                    chunk = b""
                raw += chunk
                closed = not chunk
        return raw, time.monotonic() - started, closed


def test_a_trickled_body_is_answered_408_and_the_connection_closed(
    server: ServerProcess,
) -> None:
    raw, elapsed, closed = _trickle(server.port)
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408 ")
    assert b"connection: close" in head.lower()
    assert json.loads(body) == {
        "error": "invalid_request",
        "error_description": "The request body arrived too slowly.",
    }
    assert closed
    assert DEADLINE_SECONDS - 0.5 < elapsed < DEADLINE_SECONDS + 4


def test_a_body_sent_in_time_is_served(server: ServerProcess) -> None:
    response = httpx.post(
        f"{server.url}/login", data={"email": "a@example.com", "password": "x"}, timeout=10
    )
    assert response.status_code == 403  # read whole; refused for its missing CSRF token


def test_the_server_log_shows_no_tracebacks(server: ServerProcess) -> None:
    assert "Traceback" not in server.log()
