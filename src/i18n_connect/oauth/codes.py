"""Authorization codes (RFC 6749 §4.1.2, §10.5): opaque, 256 random bits, ten minutes, one use.

Only the keyed hash of a code is stored. The token endpoint consumes a code
with one conditional update that carries every check (client, redirect URI,
PKCE challenge, expiry, not yet consumed), so a request that fails any check
changes nothing and of several concurrent redemptions exactly one wins; only
when that update matches nothing does it load the code to say why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.ids import SecretHasher, new_id, new_secret
from i18n_connect.oauth.pkce import validate_challenge
from i18n_connect.storage.oauth_tables import authorization_codes
from i18n_connect.storage.statements import Statement

__all__ = [
    "CODE_LIFETIME",
    "AuthorizationCode",
    "find_code",
    "issue_code",
    "redeem_code",
]

CODE_LIFETIME = timedelta(minutes=10)
_MAX_CODE_LENGTH = 200


@dataclass(frozen=True, slots=True)
class AuthorizationCode:
    id: str
    client_id: str
    user_id: str
    redirect_uri: str
    code_challenge: str
    scope: str
    resource: str | None
    grant_ids: tuple[str, ...]
    created_at: datetime
    expires_at: datetime
    consumed_at: datetime | None


async def issue_code(
    conn: AsyncConnection,
    *,
    client_id: str,
    user_id: str,
    redirect_uri: str,
    code_challenge: str,
    scope: str,
    resource: str | None,
    grant_ids: Sequence[str],
    now: datetime,
    hasher: SecretHasher,
) -> str:
    """Store a new code for the consented grants and return it (the only time it exists)."""
    if not grant_ids:
        raise ValueError("an authorization code needs at least one grant")
    validate_challenge(code_challenge)
    code = new_secret("ac_")
    await conn.execute(
        insert(authorization_codes).values(
            id=new_id("acd"),
            code_hash=hasher.hash(code),
            client_id=client_id,
            user_id=user_id,
            redirect_uri=redirect_uri,
            code_challenge=code_challenge,
            scope=scope,
            resource=resource,
            grant_ids=list(grant_ids),
            created_at=now,
            expires_at=now + CODE_LIFETIME,
        )
    )
    return code


def _code(row: Any) -> AuthorizationCode:
    return AuthorizationCode(
        id=row.id,
        client_id=row.client_id,
        user_id=row.user_id,
        redirect_uri=row.redirect_uri,
        code_challenge=row.code_challenge,
        scope=row.scope,
        resource=row.resource,
        grant_ids=tuple(row.grant_ids),
        created_at=row.created_at,
        expires_at=row.expires_at,
        consumed_at=row.consumed_at,
    )


async def find_code(
    conn: AsyncConnection, code: str, hasher: SecretHasher
) -> AuthorizationCode | None:
    """The stored code, consumed or not; ``None`` when unknown."""
    if not code or len(code) > _MAX_CODE_LENGTH:
        return None
    row = (
        await conn.execute(
            select(authorization_codes).where(authorization_codes.c.code_hash == hasher.hash(code))
        )
    ).first()
    return _code(row) if row is not None else None


_REDEEM = Statement(
    update(authorization_codes)
    .where(
        authorization_codes.c.code_hash == bindparam("code_hash"),
        authorization_codes.c.consumed_at.is_(None),
        authorization_codes.c.client_id == bindparam("client_id"),
        authorization_codes.c.redirect_uri == bindparam("redirect_uri"),
        authorization_codes.c.code_challenge == bindparam("code_challenge"),
        authorization_codes.c.expires_at > bindparam("now"),
    )
    .values(consumed_at=bindparam("now"))
    .returning(*authorization_codes.c)
)


async def redeem_code(
    conn: AsyncConnection,
    code: str,
    *,
    client_id: str,
    redirect_uri: str,
    code_challenge: str,
    now: datetime,
    hasher: SecretHasher,
) -> AuthorizationCode | None:
    """Consume the code if every check passes, in one statement; ``None`` changes nothing.

    ``code_challenge`` is the S256 of the presented verifier (RFC 7636 §4.6).
    """
    if not code or len(code) > _MAX_CODE_LENGTH:
        return None
    row = await _REDEEM.first(
        conn,
        code_hash=hasher.hash(code),
        client_id=client_id,
        redirect_uri=redirect_uri,
        code_challenge=code_challenge,
        now=now,
    )
    return _code(row) if row is not None else None
