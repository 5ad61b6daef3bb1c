"""refresh chains: one rotation chain per code exchange and grant

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03 09:30:00.000000

Every existing refresh token joins the chain of its grant and code (tokens of one
code exchange and grant already formed one chain).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import i18n_connect.storage.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.String(length=40)
_TIME = i18n_connect.storage.types.UtcDateTime(timezone=True)


def _backfill() -> None:
    """One chain per (grant, code) of the existing refresh tokens."""
    tokens = sa.table(
        "refresh_tokens",
        sa.column("grant_id", _ID),
        sa.column("code_id", _ID),
        sa.column("chain_id", _ID),
        sa.column("created_at", _TIME),
    )
    chains = sa.table(
        "refresh_chains",
        sa.column("id", _ID),
        sa.column("grant_id", _ID),
        sa.column("code_id", _ID),
        sa.column("created_at", _TIME),
    )
    bind = op.get_bind()
    groups = bind.execute(
        sa.select(tokens.c.grant_id, tokens.c.code_id, sa.func.min(tokens.c.created_at)).group_by(
            tokens.c.grant_id, tokens.c.code_id
        )
    ).all()
    for grant_id, code_id, created_at in groups:
        chain_id = f"rch_{secrets.token_hex(12)}"
        bind.execute(
            sa.insert(chains).values(
                id=chain_id, grant_id=grant_id, code_id=code_id, created_at=created_at
            )
        )
        same_code = tokens.c.code_id.is_(None) if code_id is None else tokens.c.code_id == code_id
        bind.execute(
            sa.update(tokens)
            .where(tokens.c.grant_id == grant_id, same_code)
            .values(chain_id=chain_id)
        )


def upgrade() -> None:
    op.create_table(
        "refresh_chains",
        sa.Column("id", _ID, nullable=False),
        sa.Column("grant_id", _ID, nullable=False),
        sa.Column("code_id", _ID, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("revoked_at", _TIME, nullable=True),
        sa.Column("revoked_reason", sa.String(length=16), nullable=True),
        sa.ForeignKeyConstraint(
            ["grant_id"],
            ["grants.id"],
            name=op.f("fk_refresh_chains_grant_id_grants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_chains")),
    )
    with op.batch_alter_table("refresh_chains", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_refresh_chains_grant_id"), ["grant_id"], unique=False)
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_id", _ID, nullable=True))
    _backfill()
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.alter_column("chain_id", existing_type=_ID, nullable=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_refresh_tokens_chain_id_refresh_chains"),
            "refresh_chains",
            ["chain_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_index(batch_op.f("ix_refresh_tokens_chain_id"), ["chain_id"], unique=False)
    with op.batch_alter_table("installation_tokens", schema=None) as batch_op:
        batch_op.add_column(sa.Column("chain_id", _ID, nullable=True))
        batch_op.create_index(
            batch_op.f("ix_installation_tokens_chain_id"), ["chain_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("installation_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_installation_tokens_chain_id"))
        batch_op.drop_column("chain_id")
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refresh_tokens_chain_id"))
        batch_op.drop_constraint(
            batch_op.f("fk_refresh_tokens_chain_id_refresh_chains"), type_="foreignkey"
        )
        batch_op.drop_column("chain_id")
    with op.batch_alter_table("refresh_chains", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_refresh_chains_grant_id"))
    op.drop_table("refresh_chains")
