"""live chains of a grant by index: refresh_chains (grant_id, revoked_at)

A grant connected from many devices over time keeps its ended chains; finding its
live ones through an index on ``grant_id`` alone read every one of them.

Revision ID: 0010
Revises: 0004
Create Date: 2026-12-03 13:40:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("refresh_chains") as batch:
        batch.drop_index(batch.f("ix_refresh_chains_grant_id"))
        batch.create_index(
            batch.f("ix_refresh_chains_grant_id_revoked_at"), ["grant_id", "revoked_at"]
        )


def downgrade() -> None:
    with op.batch_alter_table("refresh_chains") as batch:
        batch.drop_index(batch.f("ix_refresh_chains_grant_id_revoked_at"))
        batch.create_index(batch.f("ix_refresh_chains_grant_id"), ["grant_id"])
