"""The partner app's own SQLite file (standard ``sqlite3``): its users, pending
authorizations and one connection per (user, organization).

Pending authorizations keep the ``state`` and PKCE verifier for 10 minutes,
bound to the user who started them, and are consumed once. Refresh tokens
are stored as the server issued them: this file is the app's secret store
(keep it private, back it up, and encrypt it at rest in production).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

__all__ = ["PENDING_LIFETIME", "Connection", "Pending", "Store"]

PENDING_LIFETIME = timedelta(minutes=10)

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    email TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pending_authorizations (
    state TEXT PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    code_verifier TEXT NOT NULL,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS connections (
    id INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    organization_id TEXT NOT NULL,
    organization_name TEXT NOT NULL DEFAULT '',
    grant_id TEXT NOT NULL,
    refresh_token TEXT NOT NULL,
    scope TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'active',  -- active | reconnect
    problem TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    UNIQUE (user_id, organization_id)
);
"""


@dataclass(frozen=True, slots=True)
class Pending:
    state: str
    user_id: int
    code_verifier: str
    redirect_uri: str
    scope: tuple[str, ...]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Connection:
    id: int
    user_id: int
    organization_id: str
    organization_name: str
    grant_id: str
    refresh_token: str
    scope: tuple[str, ...]
    status: str
    problem: str

    @property
    def needs_reconnect(self) -> bool:
        return self.status == "reconnect"


def _hash_password(password: str, salt: bytes) -> str:
    digest = hashlib.scrypt(password.encode(), salt=salt, n=2**14, r=8, p=1)
    return f"{salt.hex()}${digest.hex()}"


def _now() -> datetime:
    return datetime.now(UTC)


def _connection(row: sqlite3.Row) -> Connection:
    return Connection(
        id=row["id"],
        user_id=row["user_id"],
        organization_id=row["organization_id"],
        organization_name=row["organization_name"],
        grant_id=row["grant_id"],
        refresh_token=row["refresh_token"],
        scope=tuple(row["scope"].split()),
        status=row["status"],
        problem=row["problem"],
    )


class Store:
    """Short blocking calls on one SQLite file; each opens its own connection (thread-safe)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with self._db() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA foreign_keys = ON")
        try:
            with db:  # one transaction: commit on success, roll back on error
                yield db
        finally:
            db.close()

    # users

    def sign_in(self, email: str, password: str) -> int | None:
        """The user's id; a new email creates the user with this password."""
        email = email.strip().lower()
        with self._db() as db:
            row = db.execute(
                "SELECT id, password_hash FROM users WHERE email = ?", (email,)
            ).fetchone()
            if row is None:
                stored = _hash_password(password, secrets.token_bytes(16))
                cursor = db.execute(
                    "INSERT INTO users (email, password_hash) VALUES (?, ?)", (email, stored)
                )
                return cursor.lastrowid
            salt = bytes.fromhex(row["password_hash"].split("$")[0])
            if hmac.compare_digest(_hash_password(password, salt), row["password_hash"]):
                return int(row["id"])
            return None

    def email_of(self, user_id: int) -> str | None:
        with self._db() as db:
            row = db.execute("SELECT email FROM users WHERE id = ?", (user_id,)).fetchone()
            return None if row is None else str(row["email"])

    # pending authorizations

    def save_pending(self, pending: Pending) -> None:
        with self._db() as db:
            db.execute(
                "DELETE FROM pending_authorizations WHERE created_at < ?",
                ((_now() - PENDING_LIFETIME).isoformat(),),
            )
            db.execute(
                "INSERT INTO pending_authorizations VALUES (?, ?, ?, ?, ?, ?)",
                (
                    pending.state,
                    pending.user_id,
                    pending.code_verifier,
                    pending.redirect_uri,
                    " ".join(pending.scope),
                    pending.created_at.isoformat(),
                ),
            )

    def take_pending(self, state: str, user_id: int, now: datetime) -> Pending | None:
        """Consume the pending authorization of ``state`` if it is this user's and fresh."""
        with self._db() as db:
            row = db.execute(
                "DELETE FROM pending_authorizations WHERE state = ? RETURNING *", (state,)
            ).fetchone()
        if row is None or row["user_id"] != user_id:
            return None
        created = datetime.fromisoformat(row["created_at"])
        if now - created > PENDING_LIFETIME:
            return None
        return Pending(
            state=row["state"],
            user_id=row["user_id"],
            code_verifier=row["code_verifier"],
            redirect_uri=row["redirect_uri"],
            scope=tuple(row["scope"].split()),
            created_at=created,
        )

    # connections

    def upsert_connection(
        self, user_id: int, organization_id: str, grant_id: str, refresh_token: str, scope: str
    ) -> None:
        """One row per (user, organization): a new grant replaces the old one and its problem."""
        now = _now().isoformat()
        with self._db() as db:
            db.execute(
                """
                INSERT INTO connections (user_id, organization_id, grant_id, refresh_token,
                                         scope, status, problem, created_at, updated_at)
                VALUES (?, ?, ?, ?, ?, 'active', '', ?, ?)
                ON CONFLICT (user_id, organization_id) DO UPDATE SET
                    grant_id = excluded.grant_id, refresh_token = excluded.refresh_token,
                    scope = excluded.scope, status = 'active', problem = '',
                    updated_at = excluded.updated_at
                """,
                (user_id, organization_id, grant_id, refresh_token, scope, now, now),
            )

    def connections(self, user_id: int) -> list[Connection]:
        with self._db() as db:
            rows = db.execute(
                "SELECT * FROM connections WHERE user_id = ? ORDER BY created_at, id", (user_id,)
            ).fetchall()
        return [_connection(row) for row in rows]

    def connection(self, connection_id: int) -> Connection | None:
        with self._db() as db:
            row = db.execute("SELECT * FROM connections WHERE id = ?", (connection_id,)).fetchone()
        return None if row is None else _connection(row)

    def name_organizations(self, names: dict[str, str]) -> None:
        """Remember organization names (shown even when the grant is gone)."""
        with self._db() as db:
            db.executemany(
                "UPDATE connections SET organization_name = ? "
                "WHERE organization_id = ? AND organization_name != ?",
                [(name, org_id, name) for org_id, name in names.items()],
            )

    def rotate_refresh_token(self, grant_id: str, refresh_token: str) -> None:
        """Keep the rotated refresh token of a grant (called before the refresh returns)."""
        with self._db() as db:
            db.execute(
                "UPDATE connections SET refresh_token = ?, updated_at = ? WHERE grant_id = ?",
                (refresh_token, _now().isoformat(), grant_id),
            )

    def mark_reconnect(self, grant_id: str, problem: str) -> None:
        with self._db() as db:
            db.execute(
                "UPDATE connections SET status = 'reconnect', problem = ?, updated_at = ? "
                "WHERE grant_id = ?",
                (problem, _now().isoformat(), grant_id),
            )

    def delete_connection(self, connection_id: int) -> None:
        with self._db() as db:
            db.execute("DELETE FROM connections WHERE id = ?", (connection_id,))
