"""Token revocation (RFC 7009 §2): an authenticated client revokes one of its own tokens.

Refresh tokens: revoking one deletes every refresh token of its grant (the
whole refresh chain, §2.1 "the authorization server … SHOULD also invalidate"
the rest of the grant's chain); the grant itself and its installation tokens
stay. Installation tokens: that one token is revoked and answers 410 from
then on. Access tokens are self-contained JWTs that expire within 30 minutes;
they cannot be revoked one by one, so presenting one changes nothing (revoke
the grant to stop them from minting). ``token_type_hint`` only decides which
kind is looked up first (§2.1: the server extends its search when the hint is
wrong). Unknown tokens and other clients' tokens are ignored, and the answer
is the same 200 in every case (§2.2), so the endpoint reveals nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect import installations
from i18n_connect.grants import client_token, lock_grant, record_by_token_client
from i18n_connect.ids import SecretHasher
from i18n_connect.storage.oauth_tables import refresh_tokens

__all__ = ["revoke", "revoke_refresh_chain"]

_MAX_TOKEN_LENGTH = 200


async def revoke_refresh_chain(
    conn: AsyncConnection, token: str, *, client_id: str, now: datetime, hasher: SecretHasher
) -> bool:
    """Delete every refresh token of the grant of ``token``, if it is one of the client's."""
    if len(token) > _MAX_TOKEN_LENGTH:
        return False
    row = await client_token(conn, refresh_tokens, hasher.hash(token), client_id)
    if row is None:
        return False
    await lock_grant(conn, row.grant_id)
    deleted = await conn.execute(
        delete(refresh_tokens).where(refresh_tokens.c.grant_id == row.grant_id)
    )
    await record_by_token_client(
        conn,
        row,
        action="token.refresh_revoked",
        now=now,
        detail={"refresh_token_id": row.id, "deleted": int(deleted.rowcount or 0)},
    )
    return True


async def revoke(
    conn: AsyncConnection,
    token: str,
    *,
    hint: str | None,
    client_id: str,
    now: datetime,
    hasher: SecretHasher,
) -> str | None:
    """Revoke the client's token; the kind revoked (``refresh_token``/``installation_token``)
    or ``None`` when nothing of the client's matched."""
    kinds = ["refresh_token", "installation_token"]
    if hint == "installation_token":
        kinds.reverse()
    for kind in kinds:
        if kind == "refresh_token":
            done = await revoke_refresh_chain(
                conn, token, client_id=client_id, now=now, hasher=hasher
            )
        else:
            done = await installations.revoke_token(
                conn, token, client_id=client_id, now=now, hasher=hasher
            )
        if done:
            return kind
    return None
