"""A real i18n-connect server for interoperability tests: uvicorn in a thread on a free
loopback port, SQLite, a clock the test can move, and a seeded person who owns one
organization with a project — plus the person's browser, which signs in and consents over
HTTP the way a user would, parsing the CSRF tokens out of the pages."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import httpx
import uvicorn
from sqlalchemy import select

from factories import web_project
from i18n_connect.app import create_app
from i18n_connect.clock import FrozenClock
from i18n_connect.platform.accounts import create_user
from i18n_connect.platform.organizations import create_organization
from i18n_connect.services import Services
from i18n_connect.settings import Settings
from i18n_connect.storage.migrate import upgrade
from i18n_connect.storage.tables import translations as translation_rows

EMAIL = "ada@example.com"
PASSWORD = "correct horse battery staple"
SECRET = "interop-secret-0123456789abcdef0123456789"
FIRST_SCOPES = [  # what an MCP client asks for first: every tool scope consent pre-checks
    "projects:read",
    "keys:read",
    "keys:write",
    "translations:read",
    "translations:write",
    "content:read",
    "content:write",
    "glossary:read",
]


@dataclass
class LiveServer:
    url: str
    clock: FrozenClock
    settings: Settings
    organization_id: str
    project_id: str

    def services(self) -> Services:
        """Services on the server's database (close them with ``await s.db.dispose()``)."""
        return Services.build(self.settings, clock=self.clock)

    async def published(self) -> set[str | None]:
        """The published texts of every translation in the server's database."""
        services = self.services()
        try:
            async with services.db.transaction(readonly=True) as conn:
                return set(await conn.scalars(select(translation_rows.c.published)))
        finally:
            await services.db.dispose()


async def _seed(settings: Settings, clock: FrozenClock) -> tuple[str, str]:
    services = Services.build(settings, clock=clock)
    now = clock.now()
    try:
        async with services.db.transaction() as conn:
            user = await create_user(conn, email=EMAIL, password=PASSWORD, name="Ada", now=now)
            org = await create_organization(
                conn, slug="acme", name="Acme", owner_user_id=user.id, now=now
            )
            project = await web_project(conn, org.id, now)
    finally:
        await services.db.dispose()
    return org.id, project.id


@contextmanager
def live_server(directory: Path, **overrides: Any) -> Iterator[LiveServer]:
    """Serve a fresh, seeded i18n-connect until the block ends (at most a minute to start)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    database_url = f"sqlite:///{directory / 'interop.db'}"
    upgrade(database_url)
    settings = Settings(
        database_url=database_url,
        issuer=f"http://127.0.0.1:{port}",
        secret_key=SECRET,
        **overrides,
    )
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    organization_id, project_id = asyncio.run(_seed(settings, clock))
    app = create_app(settings, clock=clock)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the interop server did not start")
        time.sleep(0.05)
    try:
        yield LiveServer(settings.issuer, clock, settings, organization_id, project_id)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


class _Page(HTMLParser):
    """The forms (inputs, checkboxes, buttons) and links of one HTML page."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, Any]] = []
        self.links: dict[str, str] = {}
        self._href: str | None = None
        self._text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append({"action": values.get("action", ""), "fields": []})
        elif tag in {"input", "button"} and self.forms and "name" in values:
            self.forms[-1]["fields"].append(
                {
                    "type": values.get("type", "text" if tag == "input" else "submit"),
                    "name": values["name"],
                    "value": values.get("value", ""),
                    "checked": "checked" in values,
                }
            )
        elif tag == "a" and "href" in values:
            self._href, self._text = values["href"], ""

    def handle_data(self, data: str) -> None:
        if self._href is not None:
            self._text += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "a" and self._href is not None:
            self.links[" ".join(self._text.split())] = self._href
            self._href = None


def parse_page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _form(html: str, action_suffix: str) -> dict[str, Any] | None:
    """The page's form that posts to a URL ending in ``action_suffix``."""
    forms = [f for f in parse_page(html).forms if f["action"].endswith(action_suffix)]
    return forms[0] if forms else None


@dataclass
class Consented:
    redirect: str  # the full redirect URI with code, state and iss
    code: str
    state: str | None
    iss: str | None
    consent_scopes: list[str]  # the scopes the consent screen offered
    organizations: list[str]  # the organization ids the consent screen offered
    unverified: bool  # whether the consent screen marked the app "Unverified"


class Person:
    """The seeded user at a browser: signs in when asked and approves every offered choice."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.browser = httpx.AsyncClient(base_url=base_url, follow_redirects=False, timeout=30)
        self.consents: list[Consented] = []

    async def close(self) -> None:
        await self.browser.aclose()

    async def _follow(self, url: str, redirect_prefix: str) -> httpx.Response | str:
        """GET ``url`` and its redirects; the redirect URI itself is returned, not fetched."""
        for _ in range(10):
            if url.startswith(redirect_prefix):
                return url
            response = await self.browser.get(url)
            if response.status_code not in (302, 303, 307):
                return response
            url = urljoin(str(response.url), response.headers["location"])
        raise AssertionError("too many redirects")

    async def approve(self, authorize_url: str, redirect_prefix: str) -> Consented:
        """Open the authorization URL, sign in, tick everything offered, Authorize, Continue."""
        page = await self._follow(authorize_url, redirect_prefix)
        assert isinstance(page, httpx.Response), page
        form = _form(page.text, "/login")
        if form is not None:
            fields = {f["name"]: f["value"] for f in form["fields"] if f["type"] == "hidden"}
            response = await self.browser.post(
                "/login", data={**fields, "email": EMAIL, "password": PASSWORD}
            )
            assert response.status_code == 303, response.text
            page = await self._follow(response.headers["location"], redirect_prefix)
            assert isinstance(page, httpx.Response)
        assert page.status_code == 200, page.text
        consent_page = page.text
        consent = _form(consent_page, "/consent")
        assert consent is not None, page.text
        data: list[tuple[str, str]] = [
            (f["name"], f["value"]) for f in consent["fields"] if f["type"] == "hidden"
        ]
        offered = [f["value"] for f in consent["fields"] if f["name"] == "scope"]
        data += [(f["name"], f["value"]) for f in consent["fields"] if f["type"] == "checkbox"]
        data.append(("action", "authorize"))
        response = await self.browser.post(
            consent["action"],
            content=urlencode(data),
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 303, response.text
        complete = await self._follow(response.headers["location"], redirect_prefix)
        assert isinstance(complete, httpx.Response) and complete.status_code == 200
        continue_href = parse_page(complete.text).links["Continue to your app"]
        final = await self._follow(continue_href, redirect_prefix)
        assert isinstance(final, str), final
        query = parse_qs(urlsplit(final).query)
        consented = Consented(
            redirect=final,
            code=query["code"][0],
            state=query.get("state", [None])[0],
            iss=query.get("iss", [None])[0],
            consent_scopes=offered,
            organizations=[f["value"] for f in consent["fields"] if f["name"] == "organization"],
            unverified='class="badge badge--unverified"' in consent_page,
        )
        self.consents.append(consented)
        return consented
