"""Helpers shared by the web tests (imported by name: tests/web is on sys.path)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
from sqlalchemy import select
from starlette.types import ASGIApp

from i18n_connect.platform.accounts import User
from i18n_connect.services import Services
from i18n_connect.storage.tables import rate_counters
from i18n_connect.web.sessions import COOKIE_NAME

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')

SignIn = Callable[..., Awaitable[httpx.Response]]


@dataclass(frozen=True)
class Seeded:
    user: User
    other: User


def app_services(client: httpx.AsyncClient) -> Services:
    services: Services = client.app.state.services  # type: ignore[attr-defined]
    return services


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


def session_cookie(client: httpx.AsyncClient) -> str | None:
    return client.cookies.get(COOKIE_NAME)


async def counters_of(client: httpx.AsyncClient) -> dict[str, int]:
    """Every rate counter of the client's app: key -> count."""
    async with app_services(client).db.transaction(readonly=True) as conn:
        rows = await conn.execute(select(rate_counters.c.key, rate_counters.c.count))
        return {row.key: row.count for row in rows}


@asynccontextmanager
async def client_from(app: ASGIApp, address: str) -> AsyncIterator[httpx.AsyncClient]:
    """A browser of its own (cookie jar) connecting to ``app`` from ``address``."""
    transport = httpx.ASGITransport(app=app, client=(address, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


async def sign_in_attempt(client: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    """Fetch the login form and post it with ``email`` and ``password``."""
    page = await client.get("/login")
    return await client.post(
        "/login", data={"email": email, "password": password, "csrf_token": csrf_from(page.text)}
    )
