"""A real RFC 8628 device against a real server: panva's openid-client (node, pinned in
node/package-lock.json) starts device authorizations and polls, while the person types the
code on the /device page after the device has started polling, then approves one request and
denies the other."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import anyio
import httpx
import pytest
from interop_server import EMAIL, PASSWORD, LiveServer, Person, live_server, parse_page
from sqlalchemy import select

from i18n_connect.storage.oauth_tables import device_authorizations

NODE_DIR = Path(__file__).parent / "node"
NODE = shutil.which("node")
DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"

pytestmark = pytest.mark.skipif(
    NODE is None or not (NODE_DIR / "node_modules").is_dir(),
    reason="needs node and `npm ci` in tests/interop/node (scripts/test runs it)",
)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(tmp_path, device_poll_interval_seconds=1) as running:  # a fast device
        yield running


def _fields(html: str, action: str) -> list[tuple[str, str]]:
    """Every value the form posting to ``action`` would send with all its checkboxes ticked."""
    (form,) = [f for f in parse_page(html).forms if f["action"] == action]
    return [(f["name"], f["value"]) for f in form["fields"] if f["type"] in {"hidden", "checkbox"}]


async def answer_on_device_page(person: Person, complete_uri: str, action: str) -> str:
    """Open the complete verification URI, sign in, confirm the code, answer; the final page."""
    browser = person.browser
    page = await browser.get(complete_uri)
    if page.status_code == 303:  # signed out: sign in, then back to the code
        login = await browser.get(page.headers["location"])
        hidden = [(n, v) for n, v in _fields(login.text, "/login")]
        signed_in = await browser.post(
            "/login", data={**dict(hidden), "email": EMAIL, "password": PASSWORD}
        )
        assert signed_in.status_code == 303, signed_in.text
        page = await browser.get(signed_in.headers["location"])
    assert page.status_code == 200, page.text
    consent = await browser.post(
        "/device",
        content=urlencode([*_fields(page.text, "/device"), ("user_code", _code(page.text))]),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert consent.status_code == 200, consent.text
    answered = await browser.post(
        "/device/consent",
        content=urlencode([*_fields(consent.text, "/device/consent"), ("action", action)]),
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert answered.status_code == 200, answered.text
    return answered.text


def _code(html: str) -> str:
    (form,) = [f for f in parse_page(html).forms if f["action"] == "/device"]
    (code,) = [f["value"] for f in form["fields"] if f["name"] == "user_code"]
    return str(code)


async def test_openid_client_completes_the_device_flow(server: LiveServer, person: Person) -> None:
    async with httpx.AsyncClient() as http:
        registered = await http.post(
            server.url + "/api/auth/mcp/register",
            json={
                "client_name": "Release CLI",
                "redirect_uris": ["http://127.0.0.1/cb"],
                "grant_types": ["authorization_code", "refresh_token", DEVICE_CODE_GRANT],
                "token_endpoint_auth_method": "none",
            },
        )
    assert registered.status_code == 201, registered.text
    assert DEVICE_CODE_GRANT in registered.json()["grant_types"]
    assert NODE is not None
    process = await asyncio.create_subprocess_exec(
        NODE,
        "device-flow.mjs",
        server.url,
        registered.json()["client_id"],
        cwd=NODE_DIR,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdin is not None and process.stdout is not None
    events: dict[str, Any] = {}
    pages: list[str] = []
    with anyio.fail_after(60):
        while line := await process.stdout.readline():
            event = json.loads(line)
            if event["event"] == "device":
                events.setdefault("device", []).append(event)
                process.stdin.write(b"{}\n")  # the device starts polling now
                await process.stdin.drain()
                await asyncio.sleep(2.5)  # meanwhile it polls and is told authorization_pending
                pages.append(
                    await answer_on_device_page(
                        person, event["verification_uri_complete"], event["answer"]
                    )
                )
            else:
                events[event["event"]] = event
        code = await process.wait()
    assert process.stderr is not None
    assert code == 0, (await process.stderr.read()).decode()

    first, second = events["device"]
    assert first["verification_uri"] == server.url + "/device"
    assert (first["expires_in"], first["interval"]) == (600, 1)
    assert first["user_code"] != second["user_code"]
    tokens = events["tokens"]
    assert (tokens["token_type"].lower(), tokens["expires_in"], tokens["scope"]) == (
        "bearer",
        1800,
        "projects:read keys:read",
    )
    assert tokens["has_refresh_token"] is True
    assert events["refreshed"]["rotated"] is True
    assert events["refreshed"]["grant_id"] == tokens["grant_id"]
    assert "Connection complete" in pages[0]
    assert "Connection denied" in pages[1]
    assert events["denied"] == {"event": "denied", "error": "access_denied", "status": 400}
    services = server.services()
    try:
        async with services.db.transaction(readonly=True) as conn:
            rows = (await conn.execute(select(device_authorizations))).all()
    finally:
        await services.db.dispose()
    # each was polled while pending (the server's clock stands still: the next poll is 1 s on)
    assert [row.next_poll_at - row.created_at for row in rows] == [timedelta(seconds=1)] * 2
    assert [row.status for row in rows] == ["approved", "denied"]
