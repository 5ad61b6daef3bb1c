"""developer console: the publishing organization of console apps, and their stored logos

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03 13:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import i18n_connect.storage.types

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "client_profiles",
        sa.Column("client_id", sa.String(length=512), nullable=False),
        sa.Column("organization_id", sa.String(length=40), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("policy_uri", sa.Text(), nullable=True),
        sa.Column("tos_uri", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column(
            "created_at", i18n_connect.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", i18n_connect.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oauth_clients.id"],
            name=op.f("fk_client_profiles_client_id_oauth_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_client_profiles_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_client_profiles")),
    )
    op.create_index(
        op.f("ix_client_profiles_organization_id"), "client_profiles", ["organization_id"]
    )
    op.create_table(
        "client_logos",
        sa.Column("client_id", sa.String(length=512), nullable=False),
        sa.Column("content_type", sa.String(length=32), nullable=False),
        sa.Column("image", sa.LargeBinary(), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column(
            "stored_at", i18n_connect.storage.types.UtcDateTime(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["oauth_clients.id"],
            name=op.f("fk_client_logos_client_id_oauth_clients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("client_id", name=op.f("pk_client_logos")),
    )


def downgrade() -> None:
    op.drop_table("client_logos")
    op.drop_index(op.f("ix_client_profiles_organization_id"), table_name="client_profiles")
    op.drop_table("client_profiles")
