"""Keyset pagination: the condition "after this position" of a list sorted by some columns,
for the owners' list queries (``WHERE key > :last ORDER BY key LIMIT n``, never ``OFFSET``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

__all__ = ["after"]


def after(
    columns: Sequence[ColumnElement[Any]], position: Sequence[Any], *, descending: bool = False
) -> ColumnElement[bool]:
    """Rows strictly after ``position`` in the order of ``columns`` (ascending, or descending
    on every column): ``c1 > v1 OR (c1 = v1 AND c2 > v2) OR …``, which every backend can
    answer from an index on the columns."""
    if len(columns) != len(position) or not columns:
        raise ValueError("a position needs one value per sort column")
    column, value = columns[-1], position[-1]
    condition: ColumnElement[bool] = column < value if descending else column > value
    for column, value in zip(reversed(columns[:-1]), reversed(position[:-1]), strict=True):
        beyond = column < value if descending else column > value
        condition = or_(beyond, and_(column == value, condition))
    return condition
