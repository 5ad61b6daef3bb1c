"""Opaque page cursors of the partner API's lists: the sort key of the last item, in
URL-safe base64 (RFC 4648 §5), so a page after it is stable under concurrent inserts."""

from __future__ import annotations

import base64
import binascii

from i18n_connect.errors import InvalidRequest

__all__ = ["decode_cursor", "encode_cursor"]


def encode_cursor(last: str) -> str:
    return base64.urlsafe_b64encode(last.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The sort key a cursor stands for; else `InvalidRequest`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return base64.b64decode(padded, altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidRequest("cursor: not a cursor this API returned") from None
