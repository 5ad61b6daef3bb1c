"""A fresh database for one benchmark run: a temporary SQLite file, or a PostgreSQL database
created on the local server and dropped afterwards."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from i18n_connect.storage.migrate import upgrade

__all__ = ["POSTGRES_ADMIN_URL", "fresh_database"]

POSTGRES_ADMIN_URL = os.environ.get(
    "I18N_CONNECT_BENCH_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def _sync(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


@contextmanager
def fresh_database(kind: str) -> Iterator[str]:
    """Yield the URL of a new, migrated database of ``kind`` ("sqlite" or "postgres")."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory(prefix="i18n-bench-") as directory:
            url = f"sqlite:///{Path(directory) / 'bench.db'}"
            upgrade(url)
            yield url
        return
    if kind != "postgres":
        raise ValueError(f"unknown database kind {kind!r}")
    name = f"i18n_connect_bench_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(_sync(POSTGRES_ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        url = POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
        upgrade(url)
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
