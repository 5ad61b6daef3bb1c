"""`UtcDateTime` on SQLite converts in one step exactly what its two steps (this type's, then
SQLite ``DATETIME``'s) give: the same stored text, the same values read back."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy.dialects import sqlite
from sqlalchemy.types import TypeDecorator

from i18n_connect.storage.types import UtcDateTime

DIALECT = sqlite.dialect()
TYPE = UtcDateTime().dialect_impl(DIALECT)
STEPWISE_BIND = TypeDecorator.bind_processor(TYPE, DIALECT)
STEPWISE_RESULT = TypeDecorator.result_processor(TYPE, DIALECT, None)
BIND = TYPE.bind_processor(DIALECT)
RESULT = TYPE.result_processor(DIALECT, None)

VALUES = [
    datetime(1, 1, 1, tzinfo=UTC),
    datetime(999, 2, 3, 4, 5, 6, tzinfo=UTC),
    datetime(2026, 5, 4, 3, 2, 1, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    datetime(2026, 5, 4, 3, 2, 1, 123456, tzinfo=timezone(timedelta(hours=-7))),
    datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    None,
]


@pytest.mark.parametrize("value", VALUES)
def test_the_stored_text_and_the_value_read_back_are_the_stepwise_ones(
    value: datetime | None,
) -> None:
    assert STEPWISE_BIND is not None and STEPWISE_RESULT is not None
    assert BIND is not None and RESULT is not None
    stored = BIND(value)
    assert stored == STEPWISE_BIND(value)
    read = RESULT(stored)
    assert read == STEPWISE_RESULT(stored)
    assert read is None or (read.tzinfo is UTC and read == value)


@pytest.mark.parametrize("text", ["2026-01-02 03:04:05", "2026-01-02", "2026-01-02 03:04:05.1"])
def test_text_stored_in_other_shapes_reads_back_as_before(text: str) -> None:
    assert STEPWISE_RESULT is not None and RESULT is not None
    assert repr(RESULT(text)) == repr(STEPWISE_RESULT(text))


def test_a_naive_datetime_is_refused_as_before() -> None:
    assert STEPWISE_BIND is not None and BIND is not None
    for bind in (STEPWISE_BIND, BIND):
        with pytest.raises(ValueError, match="naive datetimes are not stored"):
            bind(datetime(2026, 1, 1))
