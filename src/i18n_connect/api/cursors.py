"""Cursor pagination of the partner API's lists (REST and MCP alike).

A list is sorted by a key that is unique within it (a key's name, a project's name and
slug, a delivery's sequence number, …). A page asks for ``limit + 1`` items after the
cursor's position (a keyset query: ``WHERE key > :last ORDER BY key LIMIT n + 1``, never
``OFFSET``); if the extra item came, the page is full and ``next_cursor`` names the position
of its last item, else ``next_cursor`` is ``null``. An item inserted while a client pages
therefore never shifts the items after the cursor: none is skipped or repeated.

A cursor is opaque: the position as JSON in URL-safe base64 (RFC 4648 §5), a dot, and a MAC
(HMAC-SHA-256 with a key derived from the server secret) over the position *and the list it
belongs to* (``keys:<project id>``, …). A cursor that was changed, or that belongs to another
list, another project or another deployment, is refused with 400 ``invalid_request``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Annotated, TypeVar

from fastapi import Query
from pydantic import Field

from i18n_connect.errors import InvalidRequest
from i18n_connect.ids import SecretHasher
from i18n_connect.services import Services

__all__ = [
    "CURSOR_MAX_LENGTH",
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "CursorQuery",
    "Cursors",
    "LimitQuery",
    "SortKey",
    "ToolCursor",
    "ToolLimit",
    "cursors_of",
]

T = TypeVar("T")
SortKey = tuple[str | int, ...]

MAX_LIMIT = 1000  # items per page, every list
DEFAULT_LIMIT = 1000  # so that a client that does not page yet still gets what it got
CURSOR_MAX_LENGTH = 4096  # a key name of 500 characters, in UTF-8, in base64, with the MAC
_MAC_BYTES = 16

_LIMIT_TEXT = f"Items per page, 1 to {MAX_LIMIT}."
_CURSOR_TEXT = "The next_cursor of the previous page; absent for the first page."
_MALFORMED = "cursor: not a cursor this API returned; start again without cursor."
_FOREIGN = (
    "cursor: changed, or the next_cursor of another list; pass the next_cursor of this "
    "list unchanged, or start again without cursor."
)

LimitQuery = Annotated[int, Query(ge=1, le=MAX_LIMIT, description=_LIMIT_TEXT)]
CursorQuery = Annotated[
    str | None, Query(min_length=1, max_length=CURSOR_MAX_LENGTH, description=_CURSOR_TEXT)
]
ToolLimit = Annotated[int, Field(ge=1, le=MAX_LIMIT, description=_LIMIT_TEXT)]
ToolCursor = Annotated[
    str | None, Field(min_length=1, max_length=CURSOR_MAX_LENGTH, description=_CURSOR_TEXT)
]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)


class Cursors:
    """Signs and reads the cursors of every list, with one key."""

    __slots__ = ("_key",)

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, listing: str, payload: bytes) -> bytes:
        message = listing.encode() + b"\x00" + payload
        return hmac.new(self._key, message, hashlib.sha256).digest()[:_MAC_BYTES]

    def encode(self, listing: str, position: SortKey) -> str:
        payload = json.dumps(list(position), ensure_ascii=False, separators=(",", ":")).encode()
        return _b64(payload) + "." + _b64(self._mac(listing, payload))

    def decode(
        self, listing: str, cursor: str | None, shape: tuple[type[str] | type[int], ...]
    ) -> SortKey | None:
        """The position ``cursor`` stands for in ``listing`` (``None`` without a cursor);
        `InvalidRequest` for anything this server did not hand out for that list."""
        if cursor is None:
            return None
        encoded, dot, tag = cursor.partition(".")
        try:
            payload, mac = _unb64(encoded), _unb64(tag)
        except (binascii.Error, ValueError):
            raise InvalidRequest(_MALFORMED) from None
        if not dot or len(mac) != _MAC_BYTES:
            raise InvalidRequest(_MALFORMED)
        if not hmac.compare_digest(mac, self._mac(listing, payload)):
            raise InvalidRequest(_FOREIGN)
        position = json.loads(payload)
        if not (
            isinstance(position, list)
            and len(position) == len(shape)
            and all(type(part) is kind for part, kind in zip(position, shape, strict=True))
        ):
            raise InvalidRequest(_MALFORMED)  # only a change of this module's format gets here
        return tuple(position)

    def page(
        self, listing: str, found: Sequence[T], limit: int, position: Callable[[T], SortKey]
    ) -> tuple[list[T], str | None]:
        """The page of ``found`` (at most ``limit + 1`` items, asked for as ``limit + 1``) and
        its ``next_cursor``: the position of its last item if there are more, else ``None``."""
        if len(found) <= limit:
            return list(found), None
        items = list(found[:limit])
        return items, self.encode(listing, position(items[-1]))


def cursors_of(services: Services) -> Cursors:
    """The cursors of this deployment: their key is derived from the server secret (through
    the keyed hash already in memory, an HMAC of a fixed label), once per hasher."""
    return _cursors_keyed_by(services.hasher)


@lru_cache(maxsize=4)
def _cursors_keyed_by(hasher: SecretHasher) -> Cursors:
    return Cursors(bytes.fromhex(hasher.hash("i18n-connect/page-cursor")))
