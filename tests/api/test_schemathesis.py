"""Property-based tests of the partner API against its own OpenAPI document (schemathesis).

Every documented operation is called with generated inputs, authenticated with
a real installation token (resource routes) or access token (installation
routes and /me) of a seeded organization. Nothing may answer 5xx, and every
answer must match the documented status codes, content types and schemas.
Examples per operation are few so the whole run stays well under a minute.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
import sqlalchemy as sa
from api_world import ALL_SCOPES, build_world
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from i18n_connect import installations
from i18n_connect.app import create_app
from i18n_connect.clock import SystemClock
from i18n_connect.oauth.access_tokens import AccessTokenClaims
from i18n_connect.services import Services
from i18n_connect.settings import Settings
from i18n_connect.storage.migrate import upgrade

ADMIN_URL = os.environ.get(
    "I18N_CONNECT_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)
SECRET = "schemathesis-secret-0123456789abcdef0123456789"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@dataclass(frozen=True)
class Target:
    app: FastAPI
    installation_token: str
    access_token: str


def _postgres_database() -> Iterator[str]:
    admin = sa.create_engine(
        ADMIN_URL.replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT"
    )
    name = f"i18n_connect_fuzz_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI but unreachable: {exc}")
        pytest.skip(f"PostgreSQL unreachable at {ADMIN_URL}: {str(exc).splitlines()[0]}")
    yield ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


async def _seed(settings_: Settings) -> tuple[str, str]:
    """A world of organizations and projects; an installation and an access token of acme."""
    services = Services.build(settings_, clock=SystemClock())
    try:
        await services.keys.load()
        world = await build_world(services, httpx.AsyncClient())
        claims = AccessTokenClaims(
            sub=world.ada,
            client_id=world.client_id,
            scope=ALL_SCOPES,
            grant_ids=(world.grants["acme"],),
            aud=settings_.api_resource,
            iat=0,
            exp=0,
            jti="seed",
        )
        async with services.db.transaction() as conn:
            minted = await installations.mint(
                conn,
                claims=claims,
                grant_id=world.grants["acme"],
                project_ids=None,
                scopes=None,
                now=services.clock.now(),
                hasher=services.hasher,
                mints_per_minute=60,
            )
        return minted.token, await world.access_token()
    finally:
        await services.db.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def target(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Target]:
    if request.param == "sqlite":
        path: Path = tmp_path_factory.mktemp("fuzz") / "fuzz.db"
        databases: Iterator[str] = iter([f"sqlite:///{path}"])
    else:
        databases = _postgres_database()
    url = next(databases)
    upgrade(url)
    configured = Settings(database_url=url, issuer="http://testserver", secret_key=SECRET)
    installation, access = asyncio.run(_seed(configured))
    yield Target(create_app(configured, clock=SystemClock()), installation, access)
    next(databases, None)


def _fuzz(operation: Any, token: str) -> None:
    """Call one operation with a few generated inputs and validate every answer."""

    @given(case=operation.as_strategy())
    @settings(
        max_examples=4,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def call(case: schemathesis.Case) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    call()


def test_partner_api_matches_its_openapi_document(target: Target) -> None:
    schema = schemathesis.openapi.from_asgi("/openapi.json", target.app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:
        path = operation.path
        uses_access_token = "/installations/" in path or path.endswith("/me")
        _fuzz(operation, target.access_token if uses_access_token else target.installation_token)
