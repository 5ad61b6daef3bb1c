"""The Python floors: references outside the product that do, on the same stack (bare
Starlette on uvicorn, SQLite as the product runs it: WAL, ``synchronous=NORMAL``), only the
stored-state work a route cannot skip, and nothing else. No client authentication, rate
budget, audit, logging or middleware: the product does all of those, so its rate cannot
reach a floor's, and a floor bounds what any design on this stack can reach here.

- The rotation floor, ``POST /floor/rotate`` (OAuth 2.1 §4.3.1, RFC 6749 §6): parse the
  form, hash the presented refresh token, in one write transaction mark it used
  (conditionally, so a replay finds nothing) and insert its successor, sign an ES256 JWT
  with joserfc (RFC 9068), answer JSON. The table has the product's refresh-token columns
  and indexes (the primary key, the unique hash, grant, code and chain).
- The read floor, ``GET /floor/organizations`` (RFC 6750 §2.1): hash the bearer token and
  read it with its grant and organization in one statement, so a revocation holds on the
  next request as in the product; answer the organization as the product does.

``seed_floors`` writes both databases into a directory and returns their feed lines;
``bench/reference_app.py`` serves ``floor_routes`` of the directory it is given.
"""

from __future__ import annotations

import hashlib
import secrets
import sqlite3
import time
from pathlib import Path
from urllib.parse import parse_qsl

from joserfc import jwt
from joserfc.jwk import ECKey
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bench.seed import Line, form_line

__all__ = ["floor_routes", "seed_floors"]

ROTATE_PATH = "/floor/rotate"
READ_PATH = "/floor/organizations"
_READ_DB, _ROTATION_DB = "read.db", "rotation.db"
_LIFETIME_S = 600

_SCHEMA = """
CREATE TABLE refresh_tokens (
    id VARCHAR(40) NOT NULL PRIMARY KEY,
    token_hash VARCHAR(64) NOT NULL UNIQUE,
    grant_id VARCHAR(40) NOT NULL,
    code_id VARCHAR(40),
    parent_id VARCHAR(40),
    scope TEXT NOT NULL,
    created_at DATETIME NOT NULL,
    expires_at DATETIME NOT NULL,
    used_at DATETIME,
    chain_id VARCHAR(40) NOT NULL
);
CREATE INDEX ix_refresh_tokens_grant_id ON refresh_tokens (grant_id);
CREATE INDEX ix_refresh_tokens_code_id ON refresh_tokens (code_id);
CREATE INDEX ix_refresh_tokens_chain_id ON refresh_tokens (chain_id);
"""

_READ_SCHEMA = """
CREATE TABLE organizations (
    id VARCHAR(40) NOT NULL PRIMARY KEY, slug VARCHAR(64) NOT NULL, name TEXT NOT NULL
);
CREATE TABLE grants (id VARCHAR(40) NOT NULL PRIMARY KEY, revoked_at DATETIME);
CREATE TABLE installation_tokens (
    id VARCHAR(40) NOT NULL PRIMARY KEY,
    token_hash VARCHAR(64) NOT NULL UNIQUE,
    grant_id VARCHAR(40) NOT NULL REFERENCES grants (id),
    organization_id VARCHAR(40) NOT NULL REFERENCES organizations (id),
    expires_at DATETIME NOT NULL,
    revoked_at DATETIME
);
"""


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def seed_floors(
    directory: Path, organizations_by_token: dict[str, dict[str, str]], rotations: int
) -> tuple[list[Line], list[Line]]:
    """Both floors' databases in ``directory``: the read requests, one per token, and
    ``rotations`` rotation requests, each of a token of its own."""
    return (
        _seed_read(directory / _READ_DB, organizations_by_token),
        _seed_rotation(directory / _ROTATION_DB, rotations),
    )


def floor_routes(directory: Path) -> list[Route]:
    """The floors' routes over the databases that `seed_floors` wrote to ``directory``."""
    return [_read_route(directory / _READ_DB), _rotation_route(directory / _ROTATION_DB)]


def _seed_rotation(path: Path, count: int) -> list[Line]:
    """A new database at ``path`` holding ``count`` live refresh tokens, and one rotation
    request for each."""
    tokens = [secrets.token_urlsafe(32) for _ in range(count)]
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_SCHEMA)
        conn.executemany(
            "INSERT INTO refresh_tokens (id, token_hash, grant_id, chain_id, scope, created_at,"
            " expires_at) VALUES (?, ?, ?, ?, 'projects:read', ?, ?)",
            (
                (secrets.token_hex(12), _hash(token), f"grant-{i % 500}", f"chain-{i}", 0, 2e9)
                for i, token in enumerate(tokens)
            ),
        )
        conn.commit()
    finally:
        conn.close()
    return [
        form_line(ROTATE_PATH, {"grant_type": "refresh_token", "refresh_token": token})
        for token in tokens
    ]


def _seed_read(path: Path, organizations_by_token: dict[str, dict[str, str]]) -> list[Line]:
    """A new database at ``path`` holding each token (live, under a live grant) and its
    organization, and one read request for each token."""
    conn = sqlite3.connect(path)
    try:
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_READ_SCHEMA)
        for number, (token, organization) in enumerate(organizations_by_token.items()):
            conn.execute(
                "INSERT OR IGNORE INTO organizations (id, slug, name) VALUES (?, ?, ?)",
                (organization["id"], organization["slug"], organization["name"]),
            )
            conn.execute("INSERT INTO grants (id) VALUES (?)", (f"grant-{number}",))
            conn.execute(
                "INSERT INTO installation_tokens (id, token_hash, grant_id, organization_id,"
                " expires_at) VALUES (?, ?, ?, ?, ?)",
                (f"token-{number}", _hash(token), f"grant-{number}", organization["id"], 2e9),
            )
        conn.commit()
    finally:
        conn.close()
    return [
        Line("GET", READ_PATH, None, (f"Authorization: Bearer {token}",))
        for token in organizations_by_token
    ]


def _connect(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn


def _read_route(path: Path) -> Route:
    """``GET /floor/organizations``: the bearer token's organization, or 401
    ``invalid_token`` for an unknown, expired or revoked one (RFC 6750 §3.1)."""
    conn = _connect(path)

    async def organizations(request: Request) -> Response:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        found = conn.execute(
            "SELECT o.id, o.slug, o.name FROM installation_tokens AS t"
            " JOIN grants AS g ON g.id = t.grant_id"
            " JOIN organizations AS o ON o.id = t.organization_id"
            " WHERE t.token_hash = ? AND t.revoked_at IS NULL AND g.revoked_at IS NULL"
            " AND t.expires_at > ?",
            (_hash(token), time.time()),
        ).fetchone()
        if scheme.lower() != "bearer" or found is None:
            return JSONResponse(
                {"error": "invalid_token"},
                status_code=401,
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
        organization = {"id": found[0], "slug": found[1], "name": found[2]}
        return JSONResponse(
            {"organizations": [organization], "next_cursor": None},
            headers={"Cache-Control": "no-store"},
        )

    return Route(READ_PATH, organizations, methods=["GET"])


def _rotation_route(path: Path) -> Route:
    """``POST /floor/rotate``: rotate the presented refresh token, answer a token response
    (RFC 6749 §5.1), or 400 ``invalid_grant`` for an unknown or used one (§5.2)."""
    conn = _connect(path)
    key = ECKey.generate_key("P-256", parameters={"kid": "floor"}, private=True)
    header = {"alg": "ES256", "kid": "floor", "typ": "at+jwt"}

    async def rotate(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("ascii", "replace")))
        now = int(time.time())
        successor = secrets.token_urlsafe(32)
        conn.execute("BEGIN IMMEDIATE")
        try:
            used = conn.execute(
                "UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL"
                " RETURNING grant_id, chain_id, scope",
                (now, _hash(form.get("refresh_token", ""))),
            ).fetchone()
            if used is not None:
                conn.execute(
                    "INSERT INTO refresh_tokens (id, token_hash, grant_id, chain_id, scope,"
                    " created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (secrets.token_hex(12), _hash(successor), *used, now, now + 86400),
                )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        if used is None:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        claims = {
            "iss": "http://127.0.0.1",
            "sub": used[0],
            "aud": "http://127.0.0.1/api",
            "client_id": "floor",
            "scope": used[2],
            "iat": now,
            "exp": now + _LIFETIME_S,
            "jti": secrets.token_urlsafe(16),
        }
        return JSONResponse(
            {
                "access_token": jwt.encode(header, claims, key),
                "token_type": "Bearer",
                "expires_in": _LIFETIME_S,
                "refresh_token": successor,
                "scope": used[2],
            },
            headers={"Cache-Control": "no-store"},
        )

    return Route(ROTATE_PATH, rotate, methods=["POST"])
