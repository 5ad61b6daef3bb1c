"""The ``users`` table: the only module that reads or writes it (``storage/organizations.py``
joins it, read-only, for the member list)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, insert, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.storage.tables import users
from i18n_connect.storage.unique import insert_unique

__all__ = [
    "User",
    "get_user",
    "get_user_by_email",
    "insert_user",
    "list_users",
    "password_hash_of",
    "update_password_hash",
]


@dataclass(frozen=True, slots=True)
class User:
    id: str
    email: str
    name: str
    created_at: datetime


_COLUMNS = (users.c.id, users.c.email, users.c.name, users.c.created_at)


def _user(row: Row[*tuple[Any, ...]]) -> User:
    return User(id=row.id, email=row.email, name=row.name, created_at=row.created_at)


async def insert_user(conn: AsyncConnection, *, user: User, password_hash: str) -> bool:
    """Insert an account; ``False`` when its email is taken."""
    return await insert_unique(
        conn,
        insert(users).values(
            id=user.id,
            email=user.email,
            name=user.name,
            password_hash=password_hash,
            created_at=user.created_at,
        ),
    )


async def get_user(conn: AsyncConnection, *, user_id: str) -> User | None:
    row = (await conn.execute(select(*_COLUMNS).where(users.c.id == user_id))).first()
    return _user(row) if row is not None else None


async def get_user_by_email(conn: AsyncConnection, *, email: str) -> User | None:
    """The account with this (already normalized) email."""
    row = (await conn.execute(select(*_COLUMNS).where(users.c.email == email))).first()
    return _user(row) if row is not None else None


async def list_users(conn: AsyncConnection) -> list[User]:
    """Every account, oldest first."""
    rows = await conn.execute(select(*_COLUMNS).order_by(users.c.created_at, users.c.id))
    return [_user(row) for row in rows]


async def password_hash_of(conn: AsyncConnection, *, email: str) -> tuple[User, str] | None:
    """The account with this (already normalized) email and its stored password hash."""
    row = (
        await conn.execute(select(*_COLUMNS, users.c.password_hash).where(users.c.email == email))
    ).first()
    return (_user(row), row.password_hash) if row is not None else None


async def update_password_hash(conn: AsyncConnection, *, user_id: str, password_hash: str) -> bool:
    """Replace the stored hash in a savepoint; ``False`` when the database refused the write
    (on SQLite a read transaction cannot take the write lock after another writer committed;
    a PostgreSQL read-only transaction refuses every write)."""
    try:
        async with conn.begin_nested():
            await conn.execute(
                update(users).where(users.c.id == user_id).values(password_hash=password_hash)
            )
    except DBAPIError:
        return False
    return True
