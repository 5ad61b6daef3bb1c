"""organization policies (who may connect apps, which apps, approved and blocked lists),
members' connection requests, and the projects a grant covers

Revision ID: 0008
Revises: 0005
Create Date: 2026-12-03 13:30:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import i18n_connect.storage.types

revision: str = "0008"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.String(length=40)


def _time() -> i18n_connect.storage.types.UtcDateTime:
    return i18n_connect.storage.types.UtcDateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("grants") as batch:
        batch.add_column(sa.Column("project_ids", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("request_id", _ID, nullable=True))
    op.create_table(
        "organization_policies",
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("connect_roles", sa.String(length=16), nullable=False),
        sa.Column("allowed_apps", sa.String(length=16), nullable=False),
        sa.Column("updated_at", _time(), nullable=False),
        sa.Column("updated_by", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_organization_policies_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("organization_id", name=op.f("pk_organization_policies")),
    )
    op.create_table(
        "organization_app_lists",
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("list", sa.String(length=16), nullable=False),
        sa.Column("client_id", sa.String(length=512), nullable=False),
        sa.Column("added_at", _time(), nullable=False),
        sa.Column("added_by", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_organization_app_lists_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "organization_id", "list", "client_id", name=op.f("pk_organization_app_lists")
        ),
    )

    op.create_table(
        "connection_requests",
        sa.Column("id", _ID, nullable=False),
        sa.Column("organization_id", _ID, nullable=False),
        sa.Column("client_id", sa.String(length=512), nullable=False),
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", _time(), nullable=False),
        sa.Column("expires_at", _time(), nullable=False),
        sa.Column("decided_at", _time(), nullable=True),
        sa.Column("decided_by", _ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["organization_id"],
            ["organizations.id"],
            name=op.f("fk_connection_requests_organization_id_organizations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_connection_requests_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_connection_requests")),
    )
    op.create_index(
        op.f("ix_connection_requests_organization_id_status"),
        "connection_requests",
        ["organization_id", "status"],
    )
    op.create_index(op.f("ix_connection_requests_user_id"), "connection_requests", ["user_id"])


def downgrade() -> None:
    op.drop_table("connection_requests")
    op.drop_table("organization_app_lists")
    op.drop_table("organization_policies")
    with op.batch_alter_table("grants") as batch:
        batch.drop_column("request_id")
        batch.drop_column("project_ids")
