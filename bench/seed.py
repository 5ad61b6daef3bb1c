"""State for the benchmark scenarios, written straight into the store with the project's own
functions (accounts, organizations, clients, consent, codes, refresh tokens, installation
tokens) before the server starts; each request line goes to the wrk feed file.

Every grant is a real consent: one live grant per (user, client, organization),
so the users own a set of organizations and more public clients are registered
as more grants are needed.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar
from urllib.parse import urlencode

from i18n_connect import grants, installations
from i18n_connect.clock import SystemClock
from i18n_connect.oauth import refresh
from i18n_connect.oauth.clients import create_client
from i18n_connect.oauth.codes import issue_code
from i18n_connect.oauth.pkce import s256_challenge
from i18n_connect.platform.accounts import create_user
from i18n_connect.platform.organizations import create_organization
from i18n_connect.platform.projects import create_project
from i18n_connect.scopes import CATALOG
from i18n_connect.services import Services
from i18n_connect.settings import Settings

__all__ = [
    "REDIRECT_URI",
    "VERIFIER",
    "GrantRef",
    "Line",
    "World",
    "form_line",
    "mcp_line",
    "seed_world",
]

REDIRECT_URI = "http://127.0.0.1:9/callback"
VERIFIER = "bench-verifier-" + "v" * 40
PASSWORD = "bench password 0123456789"
_USERS = 4
_ORGS_PER_USER = 25
T = TypeVar("T")
_BATCH = 500  # rows per transaction while seeding
SCOPES = tuple(CATALOG)
JSON_TYPE = "Content-Type: application/json"
FORM_TYPE = "Content-Type: application/x-www-form-urlencoded"


@dataclass(frozen=True)
class Line:
    """One request of a wrk feed file."""

    method: str
    path: str
    body: str | None
    headers: tuple[str, ...] = ()

    def render(self) -> str:
        fields = [self.method, self.path, self.body if self.body else "-", *self.headers]
        if any("\t" in part or "\n" in part for part in fields):
            raise ValueError("a feed line may not contain tabs or newlines")
        return "\t".join(fields)


def form_line(path: str, params: dict[str, str]) -> Line:
    return Line("POST", path, urlencode(params), (FORM_TYPE,))


@dataclass
class GrantRef:
    grant_id: str
    user_id: str
    client_id: str
    organization_id: str
    project_id: str


@dataclass
class World:
    """What the seeding created, enough to build request lines."""

    services: Services
    owned: list[tuple[str, str, str]] = field(default_factory=list)  # user, org, project
    clients: list[str] = field(default_factory=list)
    grants: list[GrantRef] = field(default_factory=list)
    organizations: dict[str, dict[str, str]] = field(default_factory=dict)  # id: id, slug, name
    readers: list[tuple[GrantRef, str]] = field(default_factory=list)  # tokens of read scenarios
    probe: tuple[str, Line] | None = None  # a grant and a request made with one of its tokens

    async def ensure_grants(self, count: int) -> list[GrantRef]:
        """At least ``count`` live grants, registering more clients as needed."""
        services = self.services
        while len(self.grants) < count:
            now = services.clock.now()
            async with services.db.transaction() as conn:
                client, _ = await create_client(
                    conn,
                    name=f"Bench client {len(self.clients)}",
                    redirect_uris=[REDIRECT_URI],
                    confidential=False,
                    now=now,
                    hasher=services.hasher,
                    scope=" ".join(SCOPES),
                )
                self.clients.append(client.id)
                for user_id, pairs in itertools.groupby(self.owned, key=lambda owned: owned[0]):
                    pairs_list = list(pairs)
                    made = await grants.consent(
                        conn,
                        user_id=user_id,
                        client_id=client.id,
                        organization_ids=[org for _, org, _ in pairs_list],
                        scope=SCOPES,
                        now=now,
                    )
                    self.grants += [
                        GrantRef(grant.id, user_id, client.id, org, project)
                        for grant, (_, org, project) in zip(made, pairs_list, strict=True)
                    ]
        return self.grants[:count]

    async def codes(self, count: int, *, grant_pool: int = 1000) -> list[Line]:
        """``count`` authorization codes spread over up to ``grant_pool`` grants."""
        pool = await self.ensure_grants(min(count, grant_pool))
        challenge = s256_challenge(VERIFIER)
        lines: list[Line] = []
        for batch in _batches(range(count)):
            now = self.services.clock.now()
            async with self.services.db.transaction() as conn:
                for index in batch:
                    ref = pool[index % len(pool)]
                    code = await issue_code(
                        conn,
                        client_id=ref.client_id,
                        user_id=ref.user_id,
                        redirect_uri=REDIRECT_URI,
                        code_challenge=challenge,
                        scope=" ".join(SCOPES),
                        resource=None,
                        grant_ids=[ref.grant_id],
                        now=now,
                        hasher=self.services.hasher,
                    )
                    params = {
                        "grant_type": "authorization_code",
                        "code": code,
                        "redirect_uri": REDIRECT_URI,
                        "client_id": ref.client_id,
                        "code_verifier": VERIFIER,
                    }
                    lines.append(form_line("/api/auth/mcp/token", params))
        return lines

    async def refresh_tokens(self, count: int, *, offset: int = 0) -> list[Line]:
        """One live refresh chain on each of ``count`` grants (grants from ``offset`` on)."""
        pool = (await self.ensure_grants(offset + count))[offset:]
        lines: list[Line] = []
        for batch in _batches(pool):
            now = self.services.clock.now()
            async with self.services.db.transaction() as conn:
                for ref in batch:
                    token = await refresh.issue_refresh_token(
                        conn,
                        grant_id=ref.grant_id,
                        scope=" ".join(SCOPES),
                        resource=None,
                        now=now,
                        hasher=self.services.hasher,
                    )
                    params = {
                        "grant_type": "refresh_token",
                        "refresh_token": token,
                        "client_id": ref.client_id,
                    }
                    lines.append(form_line("/api/auth/mcp/token", params))
        return lines

    async def access_tokens(self, count: int) -> list[tuple[GrantRef, str]]:
        """An access token (audience: the partner API) for each of ``count`` grants."""
        result = []
        for ref in await self.ensure_grants(count):
            issued = await self.services.tokens.issue(
                user_id=ref.user_id,
                client_id=ref.client_id,
                scope=SCOPES,
                grant_ids=[ref.grant_id],
                audience=self.services.settings.api_resource,
            )
            result.append((ref, issued.token))
        return result

    async def installation_tokens(self, count: int) -> list[tuple[GrantRef, str]]:
        """``count`` installation tokens, one per grant."""
        minted = []
        pairs = await self.access_tokens(count)
        for batch in _batches(pairs):
            now = self.services.clock.now()
            async with self.services.db.transaction() as conn:
                for ref, access_token in batch:
                    claims = await self.services.tokens.verify(
                        access_token, audience=self.services.settings.api_resource
                    )
                    token = await installations.mint(
                        conn,
                        claims=claims,
                        grant_id=ref.grant_id,
                        project_ids=None,
                        scopes=None,
                        now=now,
                        hasher=self.services.hasher,
                        mints_per_minute=1_000_000,
                    )
                    minted.append((ref, token.token))
        return minted


def _batches(items: Sequence[T]) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), _BATCH):
        yield items[start : start + _BATCH]


async def seed_world(settings: Settings) -> World:
    """Users who each own organizations with one project; no clients or grants yet."""
    services = Services.build(settings, clock=SystemClock())
    await services.keys.load()
    world = World(services)
    now = services.clock.now()
    async with services.db.transaction() as conn:
        for u in range(_USERS):
            user = await create_user(
                conn, email=f"bench{u}@example.com", password=PASSWORD, name=None, now=now
            )
            for o in range(_ORGS_PER_USER):
                org = await create_organization(
                    conn,
                    slug=f"bench-{u}-{o}",
                    name=f"Bench {u}.{o}",
                    owner_user_id=user.id,
                    now=now,
                )
                project = await create_project(
                    conn,
                    organization_id=org.id,
                    name="Website",
                    slug="website",
                    source_language="en",
                    target_languages=("de", "fr"),
                    now=now,
                )
                world.owned.append((user.id, org.id, project.id))
                world.organizations[org.id] = {"id": org.id, "slug": org.slug, "name": org.name}
    return world


def mcp_line(token: str, project_id: str) -> Line:
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "getProject", "arguments": {"project": project_id}},
    }
    return Line(
        "POST",
        "/mcp",
        json.dumps(body, separators=(",", ":")),
        (
            JSON_TYPE,
            "Accept: application/json, text/event-stream",
            "MCP-Protocol-Version: 2025-11-25",
            f"Authorization: Bearer {token}",
        ),
    )
