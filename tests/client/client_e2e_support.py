"""Seeding and types of the SDK end-to-end tests (imported by name: tests/client is on sys.path)."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from factories import ada_and_bob, partner_client
from i18n_connect.clock import SystemClock
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
            people = await ada_and_bob(conn, password=PASSWORD, now=now)
            acme, globex = people.acme, people.globex
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
            client_id, _ = await partner_client(
                conn, "Example Partner App", [REDIRECT_URI], hasher=services.hasher, now=now
            )
            confidential_id, secret = await partner_client(
                conn,
                "Example Partner App Server",
                [REDIRECT_URI],
                hasher=services.hasher,
                now=now,
                confidential=True,
            )
            assert secret is not None
    finally:
        await services.db.dispose()
    return client_id, {"acme": acme.id, "globex": globex.id}, (confidential_id, secret)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
