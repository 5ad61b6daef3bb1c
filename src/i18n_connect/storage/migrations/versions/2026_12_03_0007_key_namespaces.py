"""key namespaces: each translation key belongs to one namespace, ``common`` by default

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03 13:35:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("translation_keys") as batch:
        batch.add_column(
            sa.Column("namespace", sa.String(length=64), nullable=False, server_default="common")
        )
        batch.create_index(
            "ix_translation_keys_project_id_namespace", ["project_id", "namespace"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("translation_keys") as batch:
        batch.drop_index("ix_translation_keys_project_id_namespace")
        batch.drop_column("namespace")
