"""Authorization codes (RFC 6749 §4.1.2, §10.5): opaque, 256 random bits, ten minutes, one use.

Only the keyed hash of a code is stored. The token endpoint consumes a code
with one conditional update that carries every check (client, redirect URI,
PKCE challenge, expiry, not yet consumed), so a request that fails any check
changes nothing and of several concurrent redemptions exactly one wins; only
when that update matches nothing does it load the code to say why.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.ids import SecretHasher, new_id, new_secret
from i18n_connect.oauth.pkce import validate_challenge
from i18n_connect.storage import codes as stored
from i18n_connect.storage.codes import AuthorizationCode

__all__ = [
    "CODE_LIFETIME",
    "AuthorizationCode",
    "find_code",
    "issue_code",
    "redeem_code",
]

CODE_LIFETIME = timedelta(minutes=10)
_MAX_CODE_LENGTH = 200


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
    stored_code = AuthorizationCode(
        id=new_id("acd"),
        client_id=client_id,
        user_id=user_id,
        redirect_uri=redirect_uri,
        code_challenge=code_challenge,
        scope=scope,
        resource=resource,
        grant_ids=tuple(grant_ids),
        created_at=now,
        expires_at=now + CODE_LIFETIME,
        consumed_at=None,
    )
    await stored.insert_code(conn, code=stored_code, code_hash=hasher.hash(code))
    return code


async def find_code(
    conn: AsyncConnection, code: str, hasher: SecretHasher
) -> AuthorizationCode | None:
    """The stored code, consumed or not; ``None`` when unknown."""
    if not code or len(code) > _MAX_CODE_LENGTH:
        return None
    return await stored.code_by_hash(conn, code_hash=hasher.hash(code))


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
    return await stored.redeem_code(
        conn,
        code_hash=hasher.hash(code),
        client_id=client_id,
        redirect_uri=redirect_uri,
        code_challenge=code_challenge,
        now=now,
    )
