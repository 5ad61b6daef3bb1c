"""Seeding and types of the SDK end-to-end tests (imported by name: tests/client is on sys.path)."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from i18n_connect.clock import SystemClock
from i18n_connect.oauth.clients import create_client
from i18n_connect.platform.accounts import create_user
from i18n_connect.platform.organizations import add_member, create_organization
from i18n_connect.platform.projects import create_project
from i18n_connect.services import Services
from i18n_connect.settings import Settings

SECRET = "client-e2e-secret-0123456789abcdef0123456789ab"
REDIRECT_URI = "http://127.0.0.1:8001/connect/callback"
PASSWORD = "correct horse battery"


@dataclass(frozen=True)
class RunningServer:
    issuer: str
    database_url: str
    client_id: str
    email: str
    password: str
    organizations: dict[str, str]  # slug -> id
    confidential_id: str
    confidential_secret: str


async def seed(settings: Settings) -> tuple[str, dict[str, str], tuple[str, str]]:
    services = Services.build(settings, clock=SystemClock())
    now = services.clock.now()
    try:
        async with services.db.transaction() as conn:
            ada = await create_user(
                conn, email="ada@example.com", password=PASSWORD, name="Ada", now=now
            )
            bob = await create_user(
                conn, email="bob@example.com", password=PASSWORD, name="Bob", now=now
            )
            acme = await create_organization(
                conn, slug="acme", name="Acme Corp", owner_user_id=ada.id, now=now
            )
            globex = await create_organization(
                conn, slug="globex", name="Globex", owner_user_id=bob.id, now=now
            )
            await add_member(conn, organization_id=globex.id, user_id=ada.id, role="admin", now=now)
            for org, name, slug in [(acme, "Website", "website"), (globex, "Help", "help")]:
                await create_project(
                    conn,
                    organization_id=org.id,
                    name=name,
                    slug=slug,
                    source_language="en",
                    target_languages=("de",),
                    now=now,
                )
            client, _ = await create_client(
                conn,
                name="Acme Localizer",
                redirect_uris=[REDIRECT_URI],
                confidential=False,
                now=now,
                hasher=services.hasher,
            )
            confidential, secret = await create_client(
                conn,
                name="Acme Localizer Server",
                redirect_uris=[REDIRECT_URI],
                confidential=True,
                now=now,
                hasher=services.hasher,
            )
            assert secret is not None
    finally:
        await services.db.dispose()
    return client.id, {"acme": acme.id, "globex": globex.id}, (confidential.id, secret)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
