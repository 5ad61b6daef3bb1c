"""Accounts: creation rules, argon2id hashes, authentication without enumeration."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select, update

from i18n_connect.clock import FrozenClock
from i18n_connect.platform import accounts
from i18n_connect.platform.accounts import (
    DuplicateEmail,
    authenticate,
    create_user,
    get_user,
    get_user_by_email,
)
from i18n_connect.services import Services
from i18n_connect.storage.tables import users


async def _count_users(services: Services) -> int:
    async with services.db.transaction(readonly=True) as conn:
        return int((await conn.execute(select(func.count()).select_from(users))).scalar_one())


async def test_create_user_normalises_email_and_stores_argon2id_hash(
    services: Services, clock: FrozenClock
) -> None:
    async with services.db.transaction() as conn:
        user = await create_user(
            conn, email="  Ada@Example.COM ", password="correct horse", name="Ada", now=clock.now()
        )
    assert user.email == "ada@example.com"
    assert user.name == "Ada"
    assert user.id.startswith("usr_")
    assert user.created_at == clock.now()
    async with services.db.transaction(readonly=True) as conn:
        stored = (
            await conn.execute(select(users.c.password_hash).where(users.c.id == user.id))
        ).scalar_one()
        assert await get_user(conn, user.id) == user
        assert await get_user_by_email(conn, "ADA@example.com") == user
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored


async def test_create_user_without_name_uses_the_email_local_part(
    services: Services, clock: FrozenClock
) -> None:
    async with services.db.transaction() as conn:
        user = await create_user(
            conn, email="grace@example.com", password="12345678", name=None, now=clock.now()
        )
    assert user.name == "grace"


@pytest.mark.parametrize(
    ("email", "password", "message"),
    [
        ("not-an-email", "long enough", "not a valid email address"),
        ("a@b", "long enough", "not a valid email address"),
        ("a b@example.com", "long enough", "not a valid email address"),
        ("a@@example.com", "long enough", "not a valid email address"),
        ("ok@example.com", "short", "at least 8 characters"),
        ("ok@example.com", "x" * 1025, "at most 1024 characters"),
    ],
    ids=["no-at", "no-dot-domain", "space", "double-at", "short-password", "huge-password"],
)
async def test_create_user_rejects_bad_input_with_one_line(
    services: Services, clock: FrozenClock, email: str, password: str, message: str
) -> None:
    async with services.db.transaction() as conn:
        with pytest.raises(ValueError, match=message) as info:
            await create_user(conn, email=email, password=password, name=None, now=clock.now())
    assert "\n" not in str(info.value)
    assert not isinstance(info.value, DuplicateEmail)
    assert await _count_users(services) == 0


async def test_duplicate_email_in_any_case_is_refused(
    services: Services, clock: FrozenClock
) -> None:
    async with services.db.transaction() as conn:
        await create_user(
            conn, email="ada@example.com", password="password1", name=None, now=clock.now()
        )
    async with services.db.transaction() as conn:
        with pytest.raises(DuplicateEmail, match=r"^a user with the email ada@example\.com"):
            await create_user(
                conn, email="ADA@example.com", password="password2", name=None, now=clock.now()
            )
    assert await _count_users(services) == 1


async def test_authenticate_accepts_the_right_password_only(
    services: Services, clock: FrozenClock
) -> None:
    async with services.db.transaction() as conn:
        user = await create_user(
            conn, email="ada@example.com", password="correct horse", name=None, now=clock.now()
        )
    async with services.db.transaction() as conn:
        assert await authenticate(conn, "Ada@Example.com", "correct horse") == user
        assert await authenticate(conn, "ada@example.com", "wrong horse") is None
        assert await authenticate(conn, "nobody@example.com", "correct horse") is None
        assert await authenticate(conn, "ada@example.com", "x" * 5000) is None


async def test_authenticate_upgrades_a_hash_made_with_weaker_parameters(
    services: Services, clock: FrozenClock
) -> None:
    async with services.db.transaction() as conn:
        user = await create_user(
            conn, email="ada@example.com", password="correct horse", name=None, now=clock.now()
        )
        weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("correct horse")
        await conn.execute(update(users).where(users.c.id == user.id).values(password_hash=weak))
    async with services.db.transaction() as conn:
        assert await authenticate(conn, "ada@example.com", "correct horse") == user
    async with services.db.transaction(readonly=True) as conn:
        stored = (
            await conn.execute(select(users.c.password_hash).where(users.c.id == user.id))
        ).scalar_one()
    assert stored != weak
    assert not PasswordHasher().check_needs_rehash(stored)


async def test_a_rehash_that_cannot_be_written_does_not_fail_the_sign_in(
    services: Services, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On SQLite a read transaction cannot take the write lock once another writer has
    committed; the upgrade is then left for a later sign-in."""
    async with services.db.transaction() as conn:
        user = await create_user(
            conn, email="ada@example.com", password="correct horse", name=None, now=clock.now()
        )
        weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash("correct horse")
        await conn.execute(update(users).where(users.c.id == user.id).values(password_hash=weak))
        await create_user(
            conn, email="bob@example.com", password="password1", name=None, now=clock.now()
        )

    real_hash = accounts._hash

    async def hash_while_someone_else_writes(password: str) -> str:
        async with services.db.transaction() as other:
            await other.execute(
                update(users).where(users.c.email == "bob@example.com").values(name="Bobby")
            )
        return await real_hash(password)

    monkeypatch.setattr(accounts, "_hash", hash_while_someone_else_writes)
    async with services.db.transaction(readonly=True) as conn:
        assert await authenticate(conn, "ada@example.com", "correct horse") == user
    async with services.db.transaction(readonly=True) as conn:
        assert (await get_user_by_email(conn, "bob@example.com")).name == "Bobby"  # type: ignore[union-attr]
