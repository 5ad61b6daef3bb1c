"""Entity tags of generated bodies and ``If-None-Match`` (RFC 9110 §8.8.3, §13.1.2)."""

from __future__ import annotations

import hashlib

__all__ = ["etag_of", "none_match"]


def etag_of(body: bytes) -> str:
    """A strong tag that changes exactly when ``body`` does."""
    return '"' + hashlib.sha256(body).hexdigest()[:32] + '"'


def none_match(if_none_match: str | None, etag: str) -> bool:
    """Whether ``If-None-Match`` names ``etag`` (weak comparison, a list of tags, or ``*``):
    the cached copy is current and a GET may answer 304."""
    if not if_none_match:
        return False
    for candidate in if_none_match.split(","):
        tag = candidate.strip()
        if tag == "*" or tag.removeprefix("W/") == etag:
            return True
    return False
