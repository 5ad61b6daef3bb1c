"""Storage and the HTTP server use only public APIs of SQLAlchemy, aiosqlite, asyncpg and
uvicorn: no private member of their objects, no internal module (docs/architecture.md)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SRC = Path(__file__).parents[2] / "src"

# Private members these libraries' objects have, which storage once reached for.
_PRIVATE_MEMBERS = (
    "_execute_mutex",
    "_transaction",
    "_start_transaction",
    "_handle_exception",
    "_connection",
    "_adapter",
    "_tx",
    "_conn",
    "_proxied",
    "_bind_processors",
    "_result_processors",
    "_protocol",
)
FORBIDDEN = [
    # a private member of another object (our own classes' ``self._x`` are fine)
    re.compile(rf"(?<!\bself)(?<!\bcls)\.{name}\b")
    for name in _PRIVATE_MEMBERS
] + [
    re.compile(r"\bhttptools_impl\b|\bh11_impl\b|uvicorn\.protocols"),  # uvicorn's internals
    re.compile(r"sqlalchemy\.(connectors|dialects\.\w+\.(asyncpg|aiosqlite))"),  # adapters
    re.compile(r"\bfrom (sqlalchemy|aiosqlite|asyncpg|uvicorn)[\w.]* import .*\b_[a-z]"),
]


def _offences(text: str) -> list[str]:
    return [
        f"{number}: {line.strip()}"
        for number, line in enumerate(text.splitlines(), 1)
        for pattern in FORBIDDEN
        if pattern.search(line.split("#", 1)[0])
    ]


def test_src_reaches_no_private_member_of_a_driver_or_server() -> None:
    offences = {
        str(path.relative_to(SRC)): found
        for path in sorted(SRC.rglob("*.py"))
        if (found := _offences(path.read_text()))
    }
    assert offences == {}


@pytest.mark.parametrize(
    "line",
    [
        "async with adapter._execute_mutex:",
        "if adapter._transaction is None:",
        "connection = fairy.dbapi_connection._connection",
        "self._connection._tx.put_nowait(item)",
        "from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol",
        "from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_connection",
        "from sqlalchemy.engine.base import _trans_ctx",
    ],
)
def test_the_check_catches_what_was_there_before(line: str) -> None:
    assert _offences(line)


def test_the_check_lets_our_own_members_be() -> None:
    assert not _offences("self._conn = conn  # our class")
