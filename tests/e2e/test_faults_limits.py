"""Abusive clients do not starve good ones (RFC 9110 §15.5.14, RFC 6585 §5): oversized
bodies are refused with 413 before they are read, oversized request heads with 431, heads
trickled too slowly are cut off with 408, and while all of that goes on, a real server
keeps answering good partner-API requests promptly.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest
from multiprocess_support import Seed, ServerProcess

from i18n_connect.storage.migrate import upgrade
from i18n_connect.web.http_protocol import HEAD_TIMEOUT_SECONDS, MAX_HEAD_BYTES

pytestmark = pytest.mark.timeout(60)

MAX_BODY = 4096
GOOD_LATENCY_LIMIT_S = 2.0


@dataclass
class Target:
    server: ServerProcess
    path: str  # a partner-API read
    headers: dict[str, str]


@pytest.fixture(scope="module")
def limited_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("limits")
    url = f"sqlite:///{directory / 'limits.db'}"
    upgrade(url)
    server = ServerProcess(url, directory, env={"I18N_CONNECT_MAX_BODY_BYTES": str(MAX_BODY)})
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def target(limited_server: ServerProcess) -> AsyncIterator[Target]:
    seed = await Seed.create(limited_server.database_url, limited_server.url)
    try:
        minted = await seed.installation_token(await seed.grant())
    finally:
        await seed.close()
    yield Target(
        limited_server,
        f"/api/oauth-client/v1/projects/{seed.project_id}",
        {"Authorization": f"Bearer {minted.token}"},
    )


async def _good_requests(target: Target, count: int) -> list[tuple[int, float]]:
    """``count`` partner-API reads one after another: their statuses and durations."""
    results = []
    async with httpx.AsyncClient(base_url=target.server.url, timeout=10) as client:
        for _ in range(count):
            started = time.monotonic()
            response = await client.get(target.path, headers=target.headers)
            results.append((response.status_code, time.monotonic() - started))
    return results


def _assert_served(results: list[tuple[int, float]]) -> None:
    assert [status for status, _ in results] == [200] * len(results)
    assert max(duration for _, duration in results) < GOOD_LATENCY_LIMIT_S


def _complete(raw: bytes) -> bool:
    head, separator, body = raw.partition(b"\r\n\r\n")
    if not separator:
        return False
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return len(body) >= int(value)
    return False


def _raw_exchange(port: int, payload: bytes, *, timeout: float = 10) -> bytes:
    """Send raw bytes on a new connection; the server's answer (one response)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        with contextlib.suppress(OSError):  # the server may answer before reading everything
            sock.sendall(payload)
        raw = b""
        while not _complete(raw):
            try:
                chunk = sock.recv(65536)
            except OSError:
                break
            if not chunk:
                break
            raw += chunk
    return raw


def _status_and_json(raw: bytes) -> tuple[int, dict[str, str]]:
    head, _, body = raw.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, json.loads(body)


async def test_a_declared_oversized_body_is_refused_with_413_json_without_being_read(
    target: Target,
) -> None:
    head = (
        "POST /api/auth/mcp/token HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {1024 * 1024 * 1024}\r\n\r\n"
    ).encode()
    started = time.monotonic()
    raw = await asyncio.to_thread(_raw_exchange, target.server.port, head + b"grant_type=x")
    assert time.monotonic() - started < GOOD_LATENCY_LIMIT_S  # answered without the gigabyte
    status, body = _status_and_json(raw)
    assert status == 413
    assert body["error"] == "invalid_request"
    assert str(MAX_BODY) in body["error_description"]


async def test_a_chunked_body_crossing_the_limit_is_refused_with_413_json(
    target: Target,
) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(4):
            yield b"a" * 2048

    async with httpx.AsyncClient(base_url=target.server.url, timeout=10) as client:
        response = await client.post(
            "/api/auth/mcp/token",
            content=chunks(),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
    assert response.status_code == 413
    assert response.json()["error"] == "invalid_request"
    assert response.headers["content-type"] == "application/json"


async def test_an_oversized_request_head_is_refused_with_431_json(target: Target) -> None:
    payload = (
        b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: "
        + b"p" * (MAX_HEAD_BYTES + 1)
        + b"\r\n\r\n"
    )
    raw = await asyncio.to_thread(_raw_exchange, target.server.port, payload)
    status, body = _status_and_json(raw)
    assert status == 431
    assert body["error"] == "invalid_request"
    _assert_served(await _good_requests(target, 3))


async def test_a_flood_of_oversized_bodies_does_not_starve_good_requests(target: Target) -> None:
    big = b"x" * (MAX_BODY * 4)

    async def flood() -> list[int]:
        statuses = []
        async with httpx.AsyncClient(base_url=target.server.url, timeout=10) as client:
            for _ in range(40):
                response = await client.post(
                    "/api/oauth-client/v1/projects",
                    content=big,
                    headers={**target.headers, "content-type": "application/json"},
                )
                statuses.append(response.status_code)
        return statuses

    floods = [asyncio.create_task(flood()) for _ in range(4)]
    good = await _good_requests(target, 20)
    flooded = await asyncio.gather(*floods)
    _assert_served(good)
    assert {status for statuses in flooded for status in statuses} == {413}


async def test_slow_clients_do_not_starve_good_requests_and_are_cut_off(target: Target) -> None:
    slow = []
    for _ in range(50):
        sock = socket.create_connection(("127.0.0.1", target.server.port), timeout=5)
        sock.sendall(b"POST /api/auth/mcp/token HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        slow.append(sock)
    try:
        trickled_until = time.monotonic() + 3
        good: list[tuple[int, float]] = []
        while time.monotonic() < trickled_until:  # every slow client keeps sending, slowly
            for sock in slow:
                sock.sendall(b"X")
            good += await _good_requests(target, 5)
            await asyncio.sleep(0.3)
        _assert_served(good)

        def answer(sock: socket.socket) -> bytes:
            sock.settimeout(HEAD_TIMEOUT_SECONDS + 10)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
            return b"".join(chunks)

        answers = await asyncio.gather(*(asyncio.to_thread(answer, sock) for sock in slow))
        for raw in answers:  # cut off once the head deadline passed, with a JSON 408
            status, body = _status_and_json(raw)
            assert status == 408
            assert body["error"] == "invalid_request"
    finally:
        for sock in slow:
            sock.close()
    _assert_served(await _good_requests(target, 3))


def test_the_server_log_shows_no_tracebacks(limited_server: ServerProcess) -> None:
    assert "Traceback" not in limited_server.log()
