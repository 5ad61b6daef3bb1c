"""Alembic, driven from code: ``i18n-connect migrate``, ``serve`` and ``demo`` call `upgrade`;
the other commands ask `needs_migration` first."""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, pool
from sqlalchemy.ext.asyncio import create_async_engine

from i18n_connect.storage.database import async_url, sqlite_file

__all__ = ["alembic_config", "needs_migration", "upgrade"]

_MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("file_template", "%%(year)d_%%(month).2d_%%(day).2d_%%(rev)s_%%(slug)s")
    url = async_url(database_url).render_as_string(hide_password=False)
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply pending migrations (idempotent; safe to run from several processes in turn)."""
    _create_private_sqlite_file(database_url)
    command.upgrade(alembic_config(database_url), revision)


def needs_migration(database_url: str) -> bool:
    """Whether the database is not at the head revision: behind it, empty, or (SQLite) no file
    yet. Reads ``alembic_version`` only; a missing SQLite file is not created."""
    database = sqlite_file(async_url(database_url))
    if database is not None and not Path(database).exists():
        return True
    heads = ScriptDirectory.from_config(alembic_config(database_url)).get_heads()
    return asyncio.run(_current_revisions(database_url)) != set(heads)


async def _current_revisions(database_url: str) -> set[str]:
    engine = create_async_engine(async_url(database_url), poolclass=pool.NullPool)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_revisions_of)
    finally:
        await engine.dispose()


def _revisions_of(conn: Connection) -> set[str]:
    return set(MigrationContext.configure(conn).get_current_heads())


def _create_private_sqlite_file(database_url: str) -> None:
    """Create a new SQLite database file readable by its owner only (0600, whatever the umask):
    it holds the encrypted signing keys and every token's hash. SQLite gives its WAL and
    shared-memory files the database file's mode."""
    database = sqlite_file(async_url(database_url))
    if database is None:
        return
    path = Path(database)
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):  # an existing file keeps its operator's mode
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
