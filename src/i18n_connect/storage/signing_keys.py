"""The ``signing_keys`` table (access-token signing keys, RFC 7517): the only module that
reads or writes it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.storage.oauth_tables import signing_keys

__all__ = [
    "has_current_key",
    "insert_key",
    "lock_keys",
    "read_keys",
    "retire_other_keys",
]

_ADVISORY_LOCK = 0x6931386E  # serializes key creation and rotation on PostgreSQL


async def lock_keys(conn: AsyncConnection) -> None:
    """Serialize writers (SQLite already did with ``BEGIN IMMEDIATE``)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})


async def insert_key(
    conn: AsyncConnection,
    *,
    kid: str,
    algorithm: str,
    private_key: bytes,
    public_jwk: dict[str, Any],
    created_at: datetime,
) -> None:
    await conn.execute(
        insert(signing_keys).values(
            kid=kid,
            algorithm=algorithm,
            private_key=private_key,
            public_jwk=public_jwk,
            created_at=created_at,
        )
    )


async def retire_other_keys(
    conn: AsyncConnection, *, kid: str, now: datetime, expires_at: datetime
) -> tuple[str, ...]:
    """Retire every current key but ``kid``, published until ``expires_at``; their kids."""
    result = await conn.execute(
        update(signing_keys)
        .where(signing_keys.c.retired_at.is_(None), signing_keys.c.kid != kid)
        .values(retired_at=now, expires_at=expires_at)
        .returning(signing_keys.c.kid)
    )
    return tuple(sorted(result.scalars()))


async def has_current_key(conn: AsyncConnection) -> bool:
    """Whether a key that is not retired exists."""
    current = await conn.execute(
        select(signing_keys.c.kid).where(signing_keys.c.retired_at.is_(None)).limit(1)
    )
    return current.first() is not None


async def read_keys(conn: AsyncConnection, *, algorithm: str) -> Sequence[Any]:
    """Every stored key of the algorithm (kid, private_key, public_jwk and dates)."""
    result = await conn.execute(
        select(
            signing_keys.c.kid,
            signing_keys.c.private_key,
            signing_keys.c.public_jwk,
            signing_keys.c.created_at,
            signing_keys.c.retired_at,
            signing_keys.c.expires_at,
        ).where(signing_keys.c.algorithm == algorithm)
    )
    return list(result.all())
