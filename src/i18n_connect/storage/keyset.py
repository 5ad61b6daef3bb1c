"""Keyset pagination: the condition "after this position" of a list sorted by some columns,
for the owners' list queries (``WHERE key > :last ORDER BY key LIMIT n``, never ``OFFSET``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

__all__ = ["after"]


def after(columns: Sequence[ColumnElement[Any]], position: Sequence[Any]) -> ColumnElement[bool]:
    """Rows strictly after ``position`` in the ascending order of ``columns``:
    ``c1 > v1 OR (c1 = v1 AND c2 > v2) OR …``, which every backend can answer from an index
    on the columns."""
    if len(columns) != len(position) or not columns:
        raise ValueError("a position needs one value per sort column")
    condition: ColumnElement[bool] = columns[-1] > position[-1]
    for column, value in zip(reversed(columns[:-1]), reversed(position[:-1]), strict=True):
        condition = or_(column > value, and_(column == value, condition))
    return condition
