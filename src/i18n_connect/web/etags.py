"""Entity tags of generated bodies and ``If-None-Match`` (RFC 9110 §8.8.3, §13.1.2), for the
CDN, exports and, through `ConditionalGetMiddleware`, every GET of the partner API."""

from __future__ import annotations

import hashlib
from typing import Any

from fastapi import FastAPI
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["ConditionalGetMiddleware", "document_conditional_gets", "etag_of", "none_match"]


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


class ConditionalGetMiddleware:
    """ASGI middleware: a strong ``ETag`` on every 200 answer to a GET under ``prefix`` that
    has none, and 304 without a body when ``If-None-Match`` names it (RFC 9110 §13.1.2,
    §15.4.5). The answer is held until complete, so only small JSON routes belong under it."""

    def __init__(self, app: ASGIApp, *, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] != "GET"
            or not scope["path"].startswith(self.prefix)
        ):
            await self.app(scope, receive, send)
            return
        if_none_match = Headers(scope=scope).get("if-none-match")
        start: Message | None = None
        passing = False  # an answer this middleware leaves alone
        chunks: list[bytes] = []

        async def held(message: Message) -> None:
            nonlocal start, passing
            if passing:
                await send(message)
                return
            if start is None:
                present = MutableHeaders(raw=list(message.get("headers", [])))
                passing = message["status"] != 200 or "etag" in present
                if passing:
                    await send(message)
                else:
                    start = message
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            headers = MutableHeaders(raw=list(start.get("headers", [])))
            headers["etag"] = etag = etag_of(body)
            if none_match(if_none_match, etag):
                del headers["content-length"]
                del headers["content-type"]
                await send({**start, "status": 304, "headers": headers.raw})
                await send({"type": "http.response.body", "body": b""})
                return
            headers["content-length"] = str(len(body))
            await send({**start, "headers": headers.raw})
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, held)


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
    """Make ``app.openapi()`` say what `ConditionalGetMiddleware` does under ``prefix``: every
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
