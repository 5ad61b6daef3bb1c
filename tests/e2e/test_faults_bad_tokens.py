"""Floods of bad credentials cost no database write and do not starve good requests
(RFC 6750 §3.1, SPEC §4): malformed, unknown, forged and wrong-kind tokens on the partner
API, ``/me``, the mint route, the MCP endpoint and the token endpoint are refused without
an INSERT, UPDATE or DELETE that changes a row, on SQLite and PostgreSQL; a real server
under such a flood keeps answering good partner-API reads promptly.
"""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
from multiprocess_support import Seed, ServerProcess
from sqlalchemy import event

from i18n_connect.storage.migrate import upgrade

pytestmark = pytest.mark.timeout(60)

MCP_HEADERS = {
    "accept": "application/json, text/event-stream",
    "mcp-protocol-version": "2025-11-25",
}


def _forged_jwt() -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    header = part({"alg": "ES256", "typ": "at+jwt", "kid": "forged"})
    claims = part({"iss": "http://testserver", "sub": "usr_x", "grant_ids": ["grt_x"]})
    return f"{header}.{claims}.{secrets.token_urlsafe(64)}"


def bad_requests(project_id: str, grant_id: str, client_id: str) -> list[dict[str, Any]]:
    """One of each kind of bad credential, as keyword arguments of ``httpx.request``."""
    unknown = "bi_oat_" + secrets.token_urlsafe(32)
    project = f"/api/oauth-client/v1/projects/{project_id}"
    tool_call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "listProjects", "arguments": {}},
    }
    token_form = {"grant_type": "refresh_token", "refresh_token": "rt_" + secrets.token_urlsafe(32)}
    return [
        {"method": "GET", "url": project, "headers": {"authorization": f"Bearer {unknown}"}},
        {"method": "GET", "url": project, "headers": {"x-api-key": unknown}},
        {"method": "GET", "url": project, "headers": {"authorization": "Bearer bi_oat_short"}},
        {"method": "GET", "url": project, "headers": {"authorization": "Bearer " + "x" * 5000}},
        {"method": "GET", "url": project, "headers": {"authorization": f"Bearer {_forged_jwt()}"}},
        {
            "method": "GET",
            "url": "/api/oauth-client/me",
            "headers": {"authorization": "Bearer x.y.z"},
        },
        {
            "method": "POST",
            "url": f"/api/oauth-client/installations/{grant_id}/tokens",
            "headers": {"authorization": f"Bearer {_forged_jwt()}"},
        },
        {
            "method": "POST",
            "url": "/mcp",
            "json": tool_call,
            "headers": {**MCP_HEADERS, "authorization": f"Bearer {unknown}"},
        },
        {
            "method": "POST",
            "url": "/mcp",
            "json": tool_call,
            "headers": {**MCP_HEADERS, "authorization": f"Bearer {_forged_jwt()}"},
        },
        {
            "method": "POST",
            "url": "/api/auth/mcp/token",
            "data": {**token_form, "client_id": "cli_" + secrets.token_hex(12)},
        },
        {
            "method": "POST",
            "url": "/api/auth/mcp/token",
            "data": {**token_form, "client_id": client_id},
        },
        {
            "method": "POST",
            "url": "/api/auth/mcp/token",
            "data": {
                "grant_type": "authorization_code",
                "code": "ac_" + secrets.token_urlsafe(32),
                "redirect_uri": "http://127.0.0.1:9/callback",
                "client_id": client_id,
                "code_verifier": "v" * 43,
            },
        },
    ]


EXPECTED = [401, 401, 401, 401, 401, 401, 401, 401, 401, 401, 400, 400]


async def test_bad_credentials_change_no_row(app_client: httpx.AsyncClient) -> None:
    services = app_client.app.state.services  # type: ignore[attr-defined]
    seed = await Seed.create_with(services)
    grant_id = await seed.grant()
    minted = await seed.installation_token(grant_id)
    project = f"/api/oauth-client/v1/projects/{seed.project_id}"
    warm = await app_client.get(project, headers={"authorization": f"Bearer {minted.token}"})
    assert warm.status_code == 200  # last-used stamps are written now, not during the flood
    good_client = await app_client.post(
        "/api/auth/mcp/token",
        data={"grant_type": "refresh_token", "refresh_token": "rt_x", "client_id": seed.client_id},
    )
    assert good_client.status_code == 400  # the client's last_used_at is stamped now

    writes: list[tuple[str, int]] = []

    def record(_conn: Any, cursor: Any, statement: str, *_args: Any) -> None:
        verb = statement.lstrip().split(None, 1)[0].upper()
        if verb in {"INSERT", "UPDATE", "DELETE"} and cursor.rowcount:
            writes.append((statement.split("\n", 1)[0][:80], cursor.rowcount))

    engine = services.db.engine.sync_engine
    event.listen(engine, "after_cursor_execute", record)
    try:
        for _ in range(3):
            requests = bad_requests(seed.project_id, grant_id, seed.client_id)
            statuses = [(await app_client.request(**request)).status_code for request in requests]
            assert statuses == EXPECTED
    finally:
        event.remove(engine, "after_cursor_execute", record)
    assert writes == []


@pytest.fixture(scope="module")
def flooded_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    directory = tmp_path_factory.mktemp("flood")
    url = f"sqlite:///{directory / 'flood.db'}"
    upgrade(url)
    server = ServerProcess(url, directory).start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
async def flood_seed(flooded_server: ServerProcess) -> AsyncIterator[tuple[Seed, str, str]]:
    seed = await Seed.create(flooded_server.database_url, flooded_server.url)
    try:
        grant_id = await seed.grant()
        minted = await seed.installation_token(grant_id)
    finally:
        await seed.close()
    yield seed, grant_id, minted.token


async def test_a_bad_token_flood_does_not_starve_good_requests(
    flooded_server: ServerProcess, flood_seed: tuple[Seed, str, str]
) -> None:
    seed, grant_id, token = flood_seed
    stop = asyncio.Event()

    async def flood() -> set[int]:
        seen = set()
        async with httpx.AsyncClient(base_url=flooded_server.url, timeout=10) as client:
            while not stop.is_set():
                for request in bad_requests(seed.project_id, grant_id, seed.client_id):
                    seen.add((await client.request(**request)).status_code)
        return seen

    floods = [asyncio.create_task(flood()) for _ in range(6)]
    durations = []
    try:
        async with httpx.AsyncClient(base_url=flooded_server.url, timeout=10) as client:
            await asyncio.sleep(0.5)
            for _ in range(30):
                started = time.monotonic()
                response = await client.get(
                    f"/api/oauth-client/v1/projects/{seed.project_id}",
                    headers={"authorization": f"Bearer {token}"},
                )
                durations.append(time.monotonic() - started)
                assert response.status_code == 200
    finally:
        stop.set()
    seen = set().union(*await asyncio.gather(*floods))
    assert seen <= {400, 401}
    assert max(durations) < 2.0
    assert "Traceback" not in flooded_server.log()
