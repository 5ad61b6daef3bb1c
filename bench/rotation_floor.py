"""The Python floor of a durable refresh-token rotation: a reference outside the product.

What any Python token endpoint on this stack must do at the least to rotate a refresh token
(OAuth 2.1 §4.3.1, RFC 6749 §6) and answer with a signed access token, and nothing more:
parse the form, hash the presented token, in one SQLite write transaction mark it used
(conditionally, so a replay finds nothing) and insert its successor, sign an ES256 JWT
with joserfc (RFC 9068) and answer JSON. SQLite runs as the product runs it (WAL,
``synchronous=NORMAL``), with the product's refresh-token columns and indexes (the
primary key, the unique hash, grant, code and chain). There is no client authentication,
grant, chain or revocation check, audit, rate limit, logging or middleware: the product
does all of those, so its rate cannot reach this one, and this one bounds what any
design on Starlette, uvicorn and SQLite can reach here.

``seed`` writes the database and the feed lines; ``rotation_route`` is the endpoint that
``bench/reference_app.py`` serves at ``POST /bench/rotate`` when given the database.
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

__all__ = ["ROTATE_PATH", "rotation_route", "seed"]

ROTATE_PATH = "/bench/rotate"
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


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def seed(path: Path, count: int) -> list[Line]:
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


def rotation_route(path: Path) -> Route:
    """``POST /bench/rotate``: rotate the presented refresh token, answer a token response
    (RFC 6749 §5.1), or 400 ``invalid_grant`` for an unknown or used one (§5.2)."""
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
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
