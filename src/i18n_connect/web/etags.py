"""Entity tags of generated bodies and ``If-None-Match`` (RFC 9110 §8.8.3, §13.1.2), for the
CDN, exports and, through `web.edge`, every GET of the partner API."""

from __future__ import annotations

import hashlib

from starlette.datastructures import MutableHeaders
from starlette.types import Message

__all__ = ["etag_of", "none_match", "tagged_answer"]


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


def tagged_answer(start: Message, body: bytes, if_none_match: str | None) -> list[Message]:
    """A held 200 answer with a strong ``ETag``, or 304 without a body when ``If-None-Match``
    names it (RFC 9110 §13.1.2, §15.4.5): the messages to send in its place."""
    headers = MutableHeaders(raw=list(start.get("headers", [])))
    headers["etag"] = etag = etag_of(body)
    if none_match(if_none_match, etag):
        del headers["content-length"]
        del headers["content-type"]
        return [
            {**start, "status": 304, "headers": headers.raw},
            {"type": "http.response.body", "body": b""},
        ]
    headers["content-length"] = str(len(body))
    return [{**start, "headers": headers.raw}, {"type": "http.response.body", "body": body}]
