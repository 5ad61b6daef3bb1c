"""Interoperability fixtures: a live server per test, and a person using it in a browser-like
client. The tests reuse the loopback TLS document server of the MCP tests."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "mcp"))

from interop_server import LiveServer, Person, live_server


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(tmp_path) as running:
        yield running


@pytest.fixture
async def person(server: LiveServer) -> AsyncIterator[Person]:
    user = Person(server.url)
    yield user
    await user.close()
