"""The partner app wired to a fake issuer."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # examples/ lives at the repository root, outside src/
    sys.path.insert(0, str(ROOT))

from examples.partner_app import Config, create_app  # noqa: E402
from fake_issuer import ISSUER, PUBLIC_URL, FakeIssuer  # noqa: E402


@pytest.fixture
def issuer() -> FakeIssuer:
    return FakeIssuer()


@pytest.fixture
def partner_config(tmp_path: Path) -> Config:
    return Config(
        client_id="partner-client",
        issuer=ISSUER,
        public_url=PUBLIC_URL,
        database=tmp_path / "partner.db",
        session_secret="test-session-secret",
    )


@pytest.fixture
async def partner(partner_config: Config, issuer: FakeIssuer) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the partner app, whose SDK talks to the fake issuer."""
    sdk_http = httpx.AsyncClient(transport=httpx.MockTransport(issuer))
    app = create_app(partner_config, http=sdk_http)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=PUBLIC_URL
    ) as client:
        client.app = app  # type: ignore[attr-defined]
        yield client
    await sdk_http.aclose()
