"""client management: registration access tokens, secret rotation grace, deleted clients

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03 10:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import i18n_connect.storage.types

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COLUMNS = (
    ("registration_token_hash", lambda: sa.String(length=64)),
    ("previous_secret_hash", lambda: sa.String(length=64)),
    ("previous_secret_expires_at", lambda: i18n_connect.storage.types.UtcDateTime()),
    ("deleted_at", lambda: i18n_connect.storage.types.UtcDateTime()),
)


def upgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        for name, column_type in _COLUMNS:
            batch.add_column(sa.Column(name, column_type(), nullable=True))
    # `verified` is the explicit mark of an operator-known publisher; clients registered before
    # it could be changed get it from their origin.
    op.execute(sa.text("UPDATE oauth_clients SET verified = (origin = 'cli')"))


def downgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        for name, _ in reversed(_COLUMNS):
            batch.drop_column(name)
