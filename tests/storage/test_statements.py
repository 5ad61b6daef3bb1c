"""`storage.statements`: hot-path statements run on the driver give what Core gives, inside the
caller's transaction, with SQLAlchemy's exceptions, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.exc import DBAPIError, IntegrityError, MultipleResultsFound, NoResultFound

from i18n_connect.storage.database import Database
from i18n_connect.storage.oauth_tables import oauth_clients
from i18n_connect.storage.statements import Statement, driver_of
from i18n_connect.storage.tables import audit_events, rate_counters

NOW = datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=UTC)
INSERT_CLIENT = Statement.insert(oauth_clients)
CLIENT_BY_ID = Statement(select(oauth_clients).where(oauth_clients.c.id == bindparam("id")))
STAMP = Statement(
    update(oauth_clients)
    .where(oauth_clients.c.id == bindparam("id"))
    .values(last_used_at=bindparam("now"))
)


class Rollback(Exception):
    pass


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


def client_values(client_id: str) -> dict[str, object]:
    return {
        "id": client_id,
        "name": "Ünïcode app",
        "secret_hash": None,
        "token_endpoint_auth_method": "none",
        "redirect_uris": ["https://app.example/cb", "http://127.0.0.1/cb"],
        "scope": "projects:read",
        "client_uri": None,
        "logo_uri": None,
        "origin": "cli",
        "verified": True,
        "created_at": NOW,
        "last_used_at": None,
        "metadata_expires_at": NOW + timedelta(days=1),
        "registration_token_hash": None,
        "previous_secret_hash": None,
        "previous_secret_expires_at": None,
        "deleted_at": None,
        "grant_types": None,
    }


async def test_rows_match_what_core_returns(db: Database) -> None:
    async with db.transaction() as conn:
        assert await INSERT_CLIENT.rowcount(conn, **client_values("c1")) == 1
    async with db.transaction(readonly=True) as conn:
        row = await CLIENT_BY_ID.first(conn, id="c1")
        core = (await conn.execute(select(oauth_clients).where(oauth_clients.c.id == "c1"))).one()
    assert row is not None
    assert tuple(row) == tuple(core)
    assert row._fields == tuple(core._fields)
    assert row.redirect_uris == ["https://app.example/cb", "http://127.0.0.1/cb"]
    assert row.verified is True
    assert row.created_at == NOW and row.created_at.tzinfo is not None
    assert row.last_used_at is None


async def test_rowcount_counts_changed_rows(db: Database) -> None:
    async with db.transaction() as conn:
        await INSERT_CLIENT.rowcount(conn, **client_values("c1"))
        assert await STAMP.rowcount(conn, id="c1", now=NOW) == 1
        assert await STAMP.rowcount(conn, id="missing", now=NOW) == 0
    async with db.transaction(readonly=True) as conn:
        row = await CLIENT_BY_ID.first(conn, id="c1")
        assert await CLIENT_BY_ID.first(conn, id="missing") is None
    assert row is not None and row.last_used_at == NOW


async def test_a_first_statement_belongs_to_the_callers_transaction(db: Database) -> None:
    """On PostgreSQL the adapter begins lazily: a driver statement first in a transaction must
    still be rolled back with it."""
    with pytest.raises(Rollback):
        async with db.transaction() as conn:
            await INSERT_CLIENT.rowcount(conn, **client_values("c1"))
            raise Rollback
    async with db.transaction(readonly=True) as conn:
        assert await CLIENT_BY_ID.first(conn, id="c1") is None
        assert (await conn.execute(select(oauth_clients.c.id))).all() == []


async def test_driver_statements_and_core_share_one_transaction(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute(insert(oauth_clients).values(**client_values("c1")))
        assert await STAMP.rowcount(conn, id="c1", now=NOW) == 1  # sees Core's uncommitted row
        core = (await conn.execute(select(oauth_clients.c.last_used_at))).scalar_one()
    assert core == NOW


async def test_driver_errors_are_sqlalchemy_errors_and_roll_back(db: Database) -> None:
    with pytest.raises(IntegrityError):
        async with db.transaction() as conn:
            await INSERT_CLIENT.rowcount(conn, **client_values("c1"))
            await INSERT_CLIENT.rowcount(conn, **client_values("c1"))  # same primary key
    async with db.transaction() as conn:  # the next transaction works and saw nothing
        assert await CLIENT_BY_ID.first(conn, id="c1") is None
        assert await INSERT_CLIENT.rowcount(conn, **client_values("c1")) == 1


async def test_literal_values_travel_with_the_statement(db: Database) -> None:
    upsert = Statement(
        insert(rate_counters)
        .values(key=bindparam("key"), window_start=bindparam("start"), count=1)
        .returning(rate_counters.c.count)
    )
    async with db.transaction() as conn:
        row = await upsert.first(conn, key="k", start=NOW)
    assert row is not None and row.count == 1


async def test_one_wants_exactly_one_row(db: Database) -> None:
    every_client = Statement(select(oauth_clients.c.id))
    async with db.transaction() as conn:
        with pytest.raises(NoResultFound):
            await CLIENT_BY_ID.one(conn, id="c1")
        await INSERT_CLIENT.rowcount(conn, **client_values("c1"))
        assert (await CLIENT_BY_ID.one(conn, id="c1")).id == "c1"
        await INSERT_CLIENT.rowcount(conn, **client_values("c2"))
        with pytest.raises(MultipleResultsFound):
            await every_client.one(conn)


async def test_a_missing_parameter_is_named(db: Database) -> None:
    async with db.transaction(readonly=True) as conn:
        with pytest.raises(TypeError, match="'id'"):
            await CLIENT_BY_ID.first(conn)


async def test_statements_of_variable_shape_are_refused(db: Database) -> None:
    expanding = Statement(select(oauth_clients).where(oauth_clients.c.id.in_(["a", "b"])))
    with_default = Statement(insert(audit_events).values(action=bindparam("action")))
    async with db.transaction(readonly=True) as conn:
        with pytest.raises(TypeError, match="fixed shape"):
            await expanding.all(conn)
        with pytest.raises(TypeError, match="every column explicitly"):
            await with_default.rowcount(conn, action="x")


async def test_a_savepoint_inside_the_transaction_keeps_it_usable(db: Database) -> None:
    """``begin_nested`` emits SAVEPOINT inside the driver's transaction: a failed insert in it
    is undone alone, and what came before commits."""
    async with db.transaction() as conn:
        await INSERT_CLIENT.rowcount(conn, **client_values("c1"))
        with pytest.raises(IntegrityError):
            async with conn.begin_nested():
                await conn.execute(insert(oauth_clients).values(**client_values("c1")))
        assert await STAMP.rowcount(conn, id="c1", now=NOW) == 1
    async with db.transaction(readonly=True) as conn:
        row = await CLIENT_BY_ID.one(conn, id="c1")
    assert row.last_used_at == NOW


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_readonly_transaction_refuses_writes_on_postgres(db: Database) -> None:
    with pytest.raises(DBAPIError, match="read-only"):
        async with db.transaction(readonly=True) as conn:
            await INSERT_CLIENT.rowcount(conn, **client_values("c1"))
    with pytest.raises(DBAPIError, match="read-only"):
        async with db.transaction(readonly=True) as conn:
            await conn.execute(insert(oauth_clients).values(**client_values("c1")))


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_cancelled_transaction_leaves_no_open_transaction_behind(db: Database) -> None:
    """Cancelled while the driver's transaction is open, and again as its rollback starts: no
    pooled connection is left inside a transaction (SQLAlchemy's reset on return sees only
    its own side, which runs in AUTOCOMMIT)."""
    entered = asyncio.Event()

    async def hold() -> None:
        async with db.transaction() as conn:
            await INSERT_CLIENT.rowcount(conn, **client_values("c1"))
            entered.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(hold())
    await entered.wait()
    task.cancel()
    await asyncio.sleep(0)
    await asyncio.sleep(0)  # the block has ended; its ROLLBACK is on its way...
    task.cancel()  # ...when that is cancelled too
    with pytest.raises(asyncio.CancelledError):
        await task
    for _ in range(3):
        async with db.transaction() as conn:
            assert await CLIENT_BY_ID.first(conn, id="c1") is None
    async with db.engine.connect() as plain:  # every pooled connection, outside `Database`
        assert not driver_of(plain).is_in_transaction()
