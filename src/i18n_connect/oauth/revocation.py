"""Token revocation (RFC 7009 §2): an authenticated client revokes one of its own tokens.

Refresh tokens: revoking one ends its refresh chain — the device that
connected with it (`oauth.chains`): the chain's refresh tokens, the access
tokens issued from it (§2.1: the server "SHOULD also invalidate all access
tokens based on the same authorization grant") and the installation tokens
minted with them. The grant and its other chains (other devices) stay.
Installation tokens: that one token is revoked and answers 410 from then on.
Access tokens are not revoked one by one: presenting one changes nothing
(revoke its refresh token or the grant). ``token_type_hint`` only decides which
kind is looked up first (§2.1: the server extends its search when the hint is
wrong). Unknown tokens and other clients' tokens are ignored, and the answer
is the same 200 in every case (§2.2), so the endpoint reveals nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect import installations
from i18n_connect.grants import client_token, lock_grant, record_by_token_client
from i18n_connect.ids import SecretHasher
from i18n_connect.oauth.chains import end_chain

__all__ = ["revoke", "revoke_refresh_chain"]

_MAX_TOKEN_LENGTH = 200


async def revoke_refresh_chain(
    conn: AsyncConnection, token: str, *, client_id: str, now: datetime, hasher: SecretHasher
) -> bool:
    """End the refresh chain of ``token``, if it is one of the client's."""
    if len(token) > _MAX_TOKEN_LENGTH:
        return False
    row = await client_token(conn, "refresh", hasher.hash(token), client_id)
    if row is None:
        return False
    await lock_grant(conn, row.grant_id)
    if not await end_chain(conn, row.chain_id, now=now, reason="revoked"):
        return True  # already ended: nothing more to do (RFC 7009 §2.2 answers 200 anyway)
    await record_by_token_client(
        conn,
        row,
        action="token.refresh_revoked",
        now=now,
        detail={"refresh_token_id": row.id, "chain_id": row.chain_id},
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
