"""Entity tags of generated bodies and ``If-None-Match`` (RFC 9110 §8.8.3, §13.1.2), for the
CDN, exports and, through `web.edge`, every GET of the partner API."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import FastAPI
from starlette.types import Message

__all__ = ["document_conditional_gets", "etag_of", "has_etag", "none_match", "tagged_answer"]

_NOT_MODIFIED_DROPS = frozenset({b"content-length", b"content-type"})  # raw, as ASGI sends them
_BODY = "http.response.body"


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


def has_etag(start: Message) -> bool:
    """Whether a response's start already carries an ``ETag`` of its own."""
    return any(name.lower() == b"etag" for name, _ in start.get("headers", ()))


def tagged_answer(
    start: Message, body: bytes, if_none_match: str | None
) -> tuple[Message, Message]:
    """A held 200 answer (``start`` without an ``ETag``, ``body``) with a strong ``ETag``, or 304
    without a body when ``If-None-Match`` names it (RFC 9110 §13.1.2, §15.4.5): the start and
    the body to send in its place."""
    etag = etag_of(body)
    tag = (b"etag", etag.encode("latin-1"))
    if none_match(if_none_match, etag):
        headers = [pair for pair in start.get("headers", ()) if pair[0] not in _NOT_MODIFIED_DROPS]
        headers.append(tag)
        return {**start, "status": 304, "headers": headers}, {"type": _BODY, "body": b""}
    headers = []
    length: tuple[bytes, bytes] | None = (b"content-length", str(len(body)).encode("latin-1"))
    for pair in start.get("headers", ()):
        if pair[0] != b"content-length":
            headers.append(pair)
        elif length is not None:  # the first one, in its place; any others dropped
            headers.append(length)
            length = None
    headers.append(tag)
    if length is not None:
        headers.append(length)
    return {**start, "headers": headers}, {"type": _BODY, "body": body}


IF_NONE_MATCH_PARAMETER: dict[str, Any] = {
    "name": "If-None-Match",
    "in": "header",
    "required": False,
    "description": (
        "ETags of copies you hold (or *): when one is current the answer is 304 without a "
        "body (RFC 9110 §13.1.2)."
    ),
    "schema": {"type": "string"},
}
ETAG_HEADER: dict[str, Any] = {
    "description": "A strong tag of this body; send it back as If-None-Match to revalidate.",
    "schema": {"type": "string"},
}


def document_conditional_gets(app: FastAPI, *, prefix: str) -> None:
    """Make ``app.openapi()`` say what `web.edge` does under ``prefix``: every
    GET takes ``If-None-Match``, its 200 carries ``ETag``, and it may answer 304."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        for path, operations in schema.get("paths", {}).items():
            operation = operations.get("get") if path.startswith(prefix) else None
            if operation is None:
                continue
            parameters = operation.setdefault("parameters", [])
            if all(p.get("name", "").lower() != "if-none-match" for p in parameters):
                parameters.append(dict(IF_NONE_MATCH_PARAMETER))
            responses = operation.setdefault("responses", {})
            if "200" in responses:
                responses["200"].setdefault("headers", {})["ETag"] = dict(ETAG_HEADER)
            responses["304"] = {
                "description": "Not Modified: the If-None-Match tag is current; no body.",
                "headers": {"ETag": dict(ETAG_HEADER)},
            }
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
