"""`storage.keyset.after`: exactly the rows after a position in the order of its columns."""

from __future__ import annotations

import itertools

import pytest
import sqlalchemy as sa

from i18n_connect.storage.keyset import after


def test_after_is_the_lexicographic_successor_set_of_a_position() -> None:
    metadata = sa.MetaData()
    table = sa.Table(
        "t",
        metadata,
        sa.Column("a", sa.Integer),
        sa.Column("b", sa.String),
        sa.Column("c", sa.Integer),
    )
    engine = sa.create_engine("sqlite://")
    rows = list(itertools.product((1, 2, 3), ("x", "y"), (1, 2)))
    with engine.begin() as conn:
        metadata.create_all(conn)
        conn.execute(sa.insert(table), [dict(zip("abc", row, strict=True)) for row in rows])
        for position in [(2, "x", 1), (1, "y", 2), (3, "y", 2), (0, "a", 0)]:
            found = conn.execute(
                sa.select(table.c.a, table.c.b, table.c.c)
                .where(after((table.c.a, table.c.b, table.c.c), position))
                .order_by(table.c.a, table.c.b, table.c.c)
            ).all()
            assert [tuple(row) for row in found] == sorted(r for r in rows if r > position)
        one = conn.execute(sa.select(table.c.a).where(after((table.c.a,), (2,)))).scalars()
        assert sorted(set(one)) == [3]
    with pytest.raises(ValueError, match="one value per sort column"):
        after((table.c.a, table.c.b), (1,))
