"""Shared set-up for the authorize and consent tests: people, organizations, clients, sign-in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
from argon2 import PasswordHasher
from fastapi import FastAPI, Request
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import Select

from i18n_connect.ids import new_id
from i18n_connect.oauth.clients import create_client
from i18n_connect.oauth.pkce import s256_challenge
from i18n_connect.platform.accounts import User
from i18n_connect.platform.organizations import add_member, create_organization
from i18n_connect.services import Services
from i18n_connect.storage.oauth_tables import (
    authorization_codes,
    authorization_requests,
    grants,
    refresh_tokens,
)
from i18n_connect.storage.tables import users
from i18n_connect.web.sessions import COOKIE_NAME, current_session, sign_in

VERIFIER = "v" * 20 + "-._~" + "0123456789abcdefghijk"  # 45 unreserved characters
CHALLENGE = s256_challenge(VERIFIER)
REDIRECT = "https://app.example.com/cb"
REDIRECT_WITH_QUERY = "https://app.example.com/callback?tenant=7&lang=en"
LOOPBACK = "http://127.0.0.1/cb"
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class World:
    alice: str  # owner of Acme, admin of Globex, member of Initech
    bob: str  # owner of Umbrella only
    carol: str  # member of Acme only
    acme: str
    globex: str
    initech: str
    umbrella: str
    client_id: str  # unverified (self-registered) public client, no registered scope
    scoped_client_id: str  # registered scope "org:read keys:read"
    operator_client_id: str  # verified (operator-registered), the redirect URIs of client_id


@cache
def _password_hash() -> str:
    return PasswordHasher().hash(PASSWORD)


async def _add_user(conn: AsyncConnection, email: str, name: str, now: datetime) -> User:
    """A user who can sign in with `PASSWORD` (hashed once per test run, to keep tests fast)."""
    user = User(id=new_id("usr"), email=email, name=name, created_at=now)
    await conn.execute(
        insert(users).values(
            id=user.id, email=email, name=name, password_hash=_password_hash(), created_at=now
        )
    )
    return user


async def make_world(services: Services) -> World:
    now = services.clock.now()
    async with services.db.transaction() as conn:
        alice = await _add_user(conn, "alice@example.com", "Alice Admin", now)
        bob = await _add_user(conn, "bob@example.com", "Bob", now)
        carol = await _add_user(conn, "carol@example.com", "Carol", now)
        acme = await create_organization(
            conn, slug="acme", name="Acme", owner_user_id=alice.id, now=now
        )
        globex = await create_organization(
            conn, slug="globex", name="Globex", owner_user_id=bob.id, now=now
        )
        initech = await create_organization(
            conn, slug="initech", name="Initech", owner_user_id=bob.id, now=now
        )
        umbrella = await create_organization(
            conn, slug="umbrella", name="Umbrella", owner_user_id=bob.id, now=now
        )
        await add_member(conn, organization_id=globex.id, user_id=alice.id, role="admin", now=now)
        await add_member(conn, organization_id=initech.id, user_id=alice.id, role="member", now=now)
        await add_member(conn, organization_id=acme.id, user_id=carol.id, role="member", now=now)
        client, _ = await create_client(
            conn,
            name="Editor <Plugin>",
            redirect_uris=[REDIRECT, REDIRECT_WITH_QUERY, LOOPBACK],
            confidential=False,
            now=now,
            hasher=services.hasher,
            origin="registration",
        )
        operator, _ = await create_client(
            conn,
            name="Operator Plugin",
            redirect_uris=[REDIRECT, REDIRECT_WITH_QUERY, LOOPBACK],
            confidential=False,
            now=now,
            hasher=services.hasher,
        )
        scoped, _ = await create_client(
            conn,
            name="Reader",
            redirect_uris=[REDIRECT],
            confidential=False,
            now=now,
            hasher=services.hasher,
            scope="org:read keys:read",
        )
    return World(
        alice=alice.id,
        bob=bob.id,
        carol=carol.id,
        acme=acme.id,
        globex=globex.id,
        initech=initech.id,
        umbrella=umbrella.id,
        client_id=client.id,
        scoped_client_id=scoped.id,
        operator_client_id=operator.id,
    )


def services_of(client: httpx.AsyncClient) -> Services:
    app: FastAPI = client.app  # type: ignore[attr-defined]
    services: Services = app.state.services
    return services


def _request_with_cookie(client: httpx.AsyncClient) -> Request:
    cookie = client.cookies.get(COOKIE_NAME)
    headers = [(b"cookie", f"{COOKIE_NAME}={cookie}".encode())] if cookie else []
    return Request(
        {
            "type": "http",
            "method": "GET",
            "path": "/",
            "headers": headers,
            "query_string": b"",
            "app": client.app,  # type: ignore[attr-defined]
        }
    )


async def sign_in_browser(client: httpx.AsyncClient, user_id: str) -> None:
    """What a successful login does: rotate the session id, carry pending requests, set cookie."""
    services = services_of(client)
    request = _request_with_cookie(client)
    async with services.db.transaction() as conn:
        previous = await current_session(request, conn)
        session = await sign_in(request, conn, previous, user_id)
    assert session.cookie_value is not None
    client.cookies.clear()
    client.cookies.set(COOKIE_NAME, session.cookie_value)


def authorize_params(**overrides: str | None) -> dict[str, str]:
    """A valid authorize query for the test client; ``None`` drops a parameter."""
    params: dict[str, str | None] = {
        "response_type": "code",
        "client_id": None,  # filled in by the caller
        "redirect_uri": REDIRECT,
        "scope": "org:read keys:read translations:publish",
        "state": "st-123",
        "code_challenge": CHALLENGE,
        "code_challenge_method": "S256",
    }
    params.update(overrides)
    return {k: v for k, v in params.items() if v is not None}


async def count(services: Services, query: Select[Any]) -> int:
    async with services.db.transaction(readonly=True) as conn:
        return int((await conn.execute(query)).scalar_one())


async def stored_state(services: Services) -> dict[str, int]:
    """How many rows the flow has created, table by table."""
    tables = {
        "requests": authorization_requests,
        "completed": authorization_requests,
        "grants": grants,
        "codes": authorization_codes,
        "refresh_tokens": refresh_tokens,
    }
    result = {}
    for name, table in tables.items():
        query = select(func.count()).select_from(table)
        if name == "completed":
            query = query.where(authorization_requests.c.completed_at.is_not(None))
        result[name] = await count(services, query)
    return result


def query_of(location: str) -> tuple[str, list[tuple[str, str]]]:
    """The URL without its query, and the query's pairs in order."""
    parts = urlsplit(location)
    base = f"{parts.scheme}://{parts.netloc}{parts.path}" if parts.netloc else parts.path
    return base, parse_qsl(parts.query, keep_blank_values=True)


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = _CSRF.search(html)
    assert match, "the page has no CSRF token"
    return match.group(1)


async def start_authorization(client: httpx.AsyncClient, client_id: str, **overrides: str) -> str:
    """GET /authorize as a signed-in browser does; the pending request's id."""
    response = await client.get(
        "/api/auth/mcp/authorize",
        params=authorize_params(client_id=client_id, **overrides),
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    path, query = query_of(response.headers["location"])
    assert path == "/api/auth/mcp/consent", "sign in first: nothing is kept for a signed-out one"
    return dict(query)["request_id"]


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.inputs: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"input", "button"}:
            self.inputs.append(dict(attrs))


def checkboxes(html: str, name: str) -> dict[str, bool]:
    """The page's checkboxes called ``name``: value → whether it is checked."""
    parser = _Inputs()
    parser.feed(html)
    return {
        str(attrs["value"]): "checked" in attrs
        for attrs in parser.inputs
        if attrs.get("type") == "checkbox" and attrs.get("name") == name
    }


def button_disabled(html: str, value: str) -> bool:
    parser = _Inputs()
    parser.feed(html)
    (button,) = [attrs for attrs in parser.inputs if attrs.get("value") == value]
    return "disabled" in button
