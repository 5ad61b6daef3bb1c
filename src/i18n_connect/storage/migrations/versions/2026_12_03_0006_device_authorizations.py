"""device authorization grant (RFC 8628): device_authorizations, clients' grant_types

Revision ID: 0006
Revises: 0010
Create Date: 2026-12-03 13:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import i18n_connect.storage.types

revision: str = "0006"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("oauth_clients") as batch:
        batch.add_column(sa.Column("grant_types", sa.JSON(), nullable=True))
    op.create_table(
        "device_authorizations",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("device_code_hash", sa.String(length=64), nullable=False),
        sa.Column("user_code_hash", sa.String(length=64), nullable=False),
        sa.Column("client_id", sa.String(length=512), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("resource", sa.Text(), nullable=True),
        sa.Column("interval", sa.Integer(), nullable=False),
        sa.Column("next_poll_at", i18n_connect.storage.types.UtcDateTime(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=True),
        sa.Column("grant_ids", sa.JSON(), nullable=True),
        sa.Column("created_at", i18n_connect.storage.types.UtcDateTime(), nullable=False),
        sa.Column("expires_at", i18n_connect.storage.types.UtcDateTime(), nullable=False),
        sa.Column("answered_at", i18n_connect.storage.types.UtcDateTime(), nullable=True),
        sa.Column("consumed_at", i18n_connect.storage.types.UtcDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oauth_clients.id"],
            name=op.f("fk_device_authorizations_client_id_oauth_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_device_authorizations_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_authorizations")),
        sa.UniqueConstraint(
            "device_code_hash", name=op.f("uq_device_authorizations_device_code_hash")
        ),
        sa.UniqueConstraint("user_code_hash", name=op.f("uq_device_authorizations_user_code_hash")),
    )
    op.create_index(
        op.f("ix_device_authorizations_expires_at"),
        "device_authorizations",
        ["expires_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_device_authorizations_expires_at"), table_name="device_authorizations")
    op.drop_table("device_authorizations")
    with op.batch_alter_table("oauth_clients") as batch:
        batch.drop_column("grant_types")
