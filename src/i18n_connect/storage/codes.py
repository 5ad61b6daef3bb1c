"""The ``authorization_codes`` table: the only module that reads or writes it."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.storage.oauth_tables import authorization_codes
from i18n_connect.storage.statements import Statement

__all__ = [
    "AuthorizationCode",
    "code_by_hash",
    "delete_expired_codes",
    "insert_code",
    "redeem_code",
]


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


async def insert_code(conn: AsyncConnection, *, code: AuthorizationCode, code_hash: str) -> None:
    """Store ``code`` under the keyed hash of its secret."""
    columns = asdict(code) | {"grant_ids": list(code.grant_ids)}
    await conn.execute(insert(authorization_codes).values(code_hash=code_hash, **columns))


async def code_by_hash(conn: AsyncConnection, *, code_hash: str) -> AuthorizationCode | None:
    """The stored code, consumed or not; ``None`` when unknown."""
    row = (
        await conn.execute(
            select(authorization_codes).where(authorization_codes.c.code_hash == code_hash)
        )
    ).first()
    return _code(row) if row is not None else None


async def redeem_code(
    conn: AsyncConnection,
    *,
    code_hash: str,
    client_id: str,
    redirect_uri: str,
    code_challenge: str,
    now: datetime,
) -> AuthorizationCode | None:
    """Mark the code consumed if it is unconsumed, unexpired and every value matches, in one
    statement; ``None`` (nothing changed) otherwise."""
    row = await _REDEEM.first(
        conn,
        code_hash=code_hash,
        client_id=client_id,
        redirect_uri=redirect_uri,
        code_challenge=code_challenge,
        now=now,
    )
    return _code(row) if row is not None else None


async def delete_expired_codes(conn: AsyncConnection, *, now: datetime) -> int:
    """Delete the codes past their expiry, consumed or not; how many went."""
    result = await conn.execute(
        delete(authorization_codes).where(authorization_codes.c.expires_at <= now)
    )
    return int(result.rowcount or 0)
