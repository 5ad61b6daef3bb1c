"""User accounts: creation with argon2id password hashes, and password authentication.

Authentication does the same work whether or not the email is known (an
unknown email is verified against a dummy hash), so timing does not reveal
which accounts exist. A stored hash made with older parameters is upgraded on
the next successful sign-in. Hashing runs in a worker thread, so a sign-in
does not stall the event loop.
"""

from __future__ import annotations

import re
from datetime import datetime
from functools import cache

import anyio.to_thread
import structlog
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.ids import new_id
from i18n_connect.storage import users
from i18n_connect.storage.users import User

__all__ = [
    "MIN_PASSWORD_LENGTH",
    "DuplicateEmail",
    "User",
    "authenticate",
    "create_user",
    "get_user",
    "get_user_by_email",
    "normalize_email",
]

MIN_PASSWORD_LENGTH = 8
_MAX_PASSWORD_LENGTH = 1024  # bounds the hashing work an attacker can ask for
_MAX_EMAIL_LENGTH = 320
_MAX_NAME_LENGTH = 200
_EMAIL = re.compile(r"[^@\s]+@[^@\s.]+(\.[^@\s.]+)+")

_log = structlog.get_logger("i18n_connect.accounts")
_hasher = PasswordHasher()  # argon2id with argon2-cffi's current recommended parameters


class DuplicateEmail(ValueError):
    """An account with this email already exists."""


def normalize_email(email: str) -> str:
    """The canonical form of an email address: trimmed and lower case."""
    return email.strip().lower()


def _valid_email(email: str) -> str:
    normalized = normalize_email(email)
    if len(normalized) > _MAX_EMAIL_LENGTH or not _EMAIL.fullmatch(normalized):
        raise ValueError(f"not a valid email address: {email.strip()!r}")
    return normalized


def _valid_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise ValueError(f"the password must be at least {MIN_PASSWORD_LENGTH} characters long")
    if len(password) > _MAX_PASSWORD_LENGTH:
        raise ValueError(f"the password must be at most {_MAX_PASSWORD_LENGTH} characters long")
    return password


async def create_user(
    conn: AsyncConnection, *, email: str, password: str, name: str | None, now: datetime
) -> User:
    """Create an account; ``ValueError`` (or `DuplicateEmail`) says in one line what is wrong."""
    normalized = _valid_email(email)
    _valid_password(password)
    display_name = (name or "").strip() or normalized.split("@", 1)[0]
    if len(display_name) > _MAX_NAME_LENGTH:
        raise ValueError(f"the name must be at most {_MAX_NAME_LENGTH} characters long")
    if await get_user_by_email(conn, normalized) is not None:
        raise DuplicateEmail(f"a user with the email {normalized} already exists")
    user = User(id=new_id("usr"), email=normalized, name=display_name, created_at=now)
    password_hash = await _hash(password)
    if not await users.insert_user(conn, user=user, password_hash=password_hash):
        # a concurrent insert of the same email won
        raise DuplicateEmail(f"a user with the email {normalized} already exists")
    return user


async def _hash(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher.hash, password)


@cache
def _dummy_hash() -> str:
    return _hasher.hash("i18n-connect: no such account")


async def authenticate(conn: AsyncConnection, email: str, password: str) -> User | None:
    """The user when the email and password match; ``None`` otherwise, at the same cost."""
    if len(password) > _MAX_PASSWORD_LENGTH:
        return None
    found = await users.password_hash_of(conn, email=normalize_email(email))
    stored = found[1] if found is not None else _dummy_hash()
    try:
        await anyio.to_thread.run_sync(_hasher.verify, stored, password)
    except (VerificationError, InvalidHashError):
        return None
    if found is None:
        return None
    user = found[0]
    if _hasher.check_needs_rehash(stored):
        await _upgrade_hash(conn, user.id, password)
    return user


async def _upgrade_hash(conn: AsyncConnection, user_id: str, password: str) -> None:
    """Store a hash with the current parameters, best effort: on SQLite a read transaction
    cannot take the write lock after another writer committed; a later sign-in retries."""
    password_hash = await _hash(password)
    if not await users.update_password_hash(conn, user_id=user_id, password_hash=password_hash):
        _log.warning("password_rehash_deferred", user_id=user_id)


async def get_user(conn: AsyncConnection, user_id: str) -> User | None:
    return await users.get_user(conn, user_id=user_id)


async def get_user_by_email(conn: AsyncConnection, email: str) -> User | None:
    return await users.get_user_by_email(conn, email=normalize_email(email))


async def list_users(conn: AsyncConnection) -> list[User]:
    return await users.list_users(conn)
