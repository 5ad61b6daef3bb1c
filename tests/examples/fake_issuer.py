"""A fake issuer (httpx.MockTransport) that speaks SPEC §3 and §4 just enough to drive the
partner app: codes bound to PKCE, rotating refresh tokens, grants, installation tokens."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import re
from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlsplit

import httpx

ISSUER = "http://issuer.test"
PUBLIC_URL = "http://partner.test"


@dataclass
class FakeGrant:
    grant_id: str
    organization_id: str
    scope: str
    revoked: bool = False


@dataclass
class FakeIssuer:
    """In-memory issuer: codes, rotating refresh tokens, grants, installation tokens."""

    organizations: dict[str, tuple[str, str]] = field(
        default_factory=lambda: {"org_a": ("acme", "Acme"), "org_b": ("globex", "Globex")}
    )
    projects: dict[str, list[str]] = field(
        default_factory=lambda: {"org_a": ["Web shop"], "org_b": ["Mobile app", "Docs"]}
    )
    codes: dict[str, tuple[str, str, list[str]]] = field(default_factory=dict)
    refresh_tokens: dict[str, str] = field(default_factory=dict)
    grants: dict[str, FakeGrant] = field(default_factory=dict)
    access_tokens: dict[str, list[str]] = field(default_factory=dict)
    installation_tokens: dict[str, str] = field(default_factory=dict)
    calls: list[str] = field(default_factory=list)
    counter: itertools.count[int] = field(default_factory=itertools.count)

    def _next(self, prefix: str) -> str:
        return f"{prefix}{next(self.counter)}"

    def issue_code(self, authorize_url: str, organizations: list[str]) -> str:
        """What consent does: a code bound to the URL's challenge and redirect URI."""
        params = {k: v[0] for k, v in parse_qs(urlsplit(authorize_url).query).items()}
        code = self._next("code_")
        self.codes[code] = (params["code_challenge"], params["redirect_uri"], organizations)
        self.scope = params.get("scope", "")
        return code

    def revoke(self, grant_id: str) -> None:
        self.grants[grant_id].revoked = True

    def _grant_json(self, grant: FakeGrant) -> dict[str, str]:
        refresh = self._next("rt_")
        self.refresh_tokens[refresh] = grant.grant_id
        return {
            "grant_id": grant.grant_id,
            "organization_id": grant.organization_id,
            "refresh_token": refresh,
            "scope": grant.scope,
        }

    def _tokens(self, grants: list[FakeGrant]) -> httpx.Response:
        access = self._next("eyJ.at")
        self.access_tokens[access] = [g.grant_id for g in grants]
        listed = [self._grant_json(g) for g in grants]
        body = {"access_token": access, "token_type": "Bearer", "expires_in": 1800}
        return httpx.Response(200, json={**body, **listed[0], "grants": listed})

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(f"{request.method} {request.url.path}")
        path = request.url.path
        if path == "/api/auth/mcp/token":
            return self._token(
                dict((k, v[0]) for k, v in parse_qs(request.content.decode()).items())
            )
        bearer = request.headers.get("authorization", "").removeprefix("Bearer ")
        if match := re.fullmatch(r"/api/oauth-client/installations/([^/]+)(/tokens)?", path):
            grant = self.grants.get(match[1])
            if grant is None or match[1] not in self.access_tokens.get(bearer, []):
                return _error(404, "grant_not_found")
            if request.method == "DELETE":
                grant.revoked = True
                return httpx.Response(204)
            if grant.revoked:
                return _error(410, "grant_revoked")
            token = self._next("bi_oat_")
            self.installation_tokens[token] = grant.grant_id
            return httpx.Response(
                201,
                json={
                    "installation_token": token,
                    "token_type": "Bearer",
                    "expires_at": "2030-01-01T00:00:00Z",
                    "expires_in": 3600,
                    "organization_id": grant.organization_id,
                    "project_ids": [],
                    "scopes": grant.scope.split(),
                },
            )
        if path == "/api/oauth-client/me":
            if bearer not in self.access_tokens:
                return _error(401, "invalid_token")
            return httpx.Response(
                200, json={"grants": [self._me_grant(g) for g in self.access_tokens[bearer]]}
            )
        grant_id = self.installation_tokens.get(bearer)
        if grant_id is None:
            return _error(401, "invalid_token")
        grant = self.grants[grant_id]
        if grant.revoked:
            return _error(410, "grant_revoked")
        org = grant.organization_id
        if path == "/api/oauth-client/organizations":
            slug, name = self.organizations[org]
            return httpx.Response(
                200, json={"organizations": [{"id": org, "slug": slug, "name": name}]}
            )
        if match := re.fullmatch(r"/api/oauth-client/organizations/([^/]+)/projects", path):
            if match[1] != org:
                return _error(403, "wrong_organization")
            if "projects:read" not in grant.scope.split():
                return httpx.Response(
                    403, json={"error": "missing_scope", "required": "projects:read"}
                )
            names = self.projects[org]
            return httpx.Response(
                200,
                json={
                    "projects": [
                        {"id": f"prj_{i}", "slug": n.lower().replace(" ", "-"), "name": n}
                        for i, n in enumerate(names)
                    ]
                },
            )
        return _error(404, "not_found")

    def _me_grant(self, grant_id: str) -> dict[str, object]:
        org = self.grants[grant_id].organization_id
        slug, name = self.organizations[org]
        return {"grant_id": grant_id, "organization": {"id": org, "slug": slug, "name": name}}

    def _token(self, form: dict[str, str]) -> httpx.Response:
        if form.get("grant_type") == "authorization_code":
            entry = self.codes.pop(form.get("code", ""), None)
            if entry is None:
                return _error(400, "invalid_grant")
            challenge, redirect_uri, organizations = entry
            digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
            if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != challenge:
                return _error(400, "invalid_grant")
            if form.get("redirect_uri") != redirect_uri:
                return _error(400, "invalid_grant")
            grants = []
            for org in organizations:
                grant = FakeGrant(self._next("grt_"), org, self.scope)
                self.grants[grant.grant_id] = grant
                grants.append(grant)
            return self._tokens(grants)
        if form.get("grant_type") == "refresh_token":
            grant_id = self.refresh_tokens.pop(form.get("refresh_token", ""), None)
            if grant_id is None or self.grants[grant_id].revoked:
                return _error(400, "invalid_grant")
            return self._tokens([self.grants[grant_id]])
        return _error(400, "unsupported_grant_type")


def _error(status: int, code: str) -> httpx.Response:
    return httpx.Response(status, content=json.dumps({"error": code, "error_description": code}))
