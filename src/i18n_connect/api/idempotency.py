"""``Idempotency-Key`` on the partner API's writes (draft-ietf-httpapi-idempotency-key-header).

A POST, PUT, PATCH or DELETE under ``/api/oauth-client/`` that carries the header is run
at most once per caller and key for 24 hours (`KEY_LIFETIME`):

- the first request claims the key (a conditional insert in its own short transaction,
  before the route runs), runs, and its answer — a 2xx, or a 4xx other than 401, 408 and
  429 — is kept: status, ``content-type``, ``location``, ``etag``, ``cache-control`` and
  ``pragma``, and the body encrypted (AES-256-GCM under a key of the server secret, bound
  to the caller, key and request). Any other answer, or a failure, gives the key back, so a
  retry runs again;
- the same key with the same request (method, path, query and body bytes) gets that
  answer again, with ``Idempotent-Replayed: true``, and runs nothing;
- the same key with another request is 422 ``idempotency_key_reused``; while the first
  request runs, 409 ``idempotency_key_in_flight`` (``Retry-After: 1``). A claim whose
  request never answered (its process died) is taken over after `STALE_CLAIM`;
- a key that is empty, longer than 255 characters or not printable ASCII is 400
  ``invalid_request``. The draft's structured-field form (``"…"``) and a bare value both work.

The caller is the grant of an installation token together with the token's reach — its
scopes and projects as minted: tokens last an hour, and a retry with a fresh token minted
alike is the same caller, while a narrower token is another — the grant of the access-token
route, or the client of the client-credential webhook routes (`api.auth.write_caller`).
Requests whose credentials prove nobody, reads, requests without the header and minting
installation tokens (`EXCLUDED`: its answer is a live credential, never kept) pass through
untouched.
"""

from __future__ import annotations

import hashlib
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio
import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from i18n_connect.api.auth import write_caller
from i18n_connect.errors import (
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    InvalidRequest,
    ProtocolError,
    TemporarilyUnavailable,
)
from i18n_connect.services import Services
from i18n_connect.storage import idempotency_keys
from i18n_connect.web.errors import DATABASE_UNAVAILABLE, error_response
from i18n_connect.web.replayed_bodies import replaying

__all__ = [
    "EXCLUDED",
    "HEADER",
    "KEY_LIFETIME",
    "PREFIX",
    "STALE_CLAIM",
    "IdempotencyMiddleware",
    "document",
    "parse_key",
    "request_hash",
]

HEADER = "Idempotency-Key"
REPLAYED = "Idempotent-Replayed"
PREFIX = "/api/oauth-client/"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
EXCLUDED = (("POST", re.compile(r"/api/oauth-client/installations/[^/]+/tokens")),)
KEY_LIFETIME = timedelta(hours=24)
STALE_CLAIM = timedelta(seconds=60)
MAX_KEY_LENGTH = 255
KEPT_HEADERS = ("content-type", "location", "etag", "cache-control", "pragma")
_NOT_KEPT = frozenset({401, 408, 429})  # about the moment, not the request: run again
_HEADER_BYTES = HEADER.lower().encode()
_PRINTABLE = re.compile(r"[\x20-\x7e]+")
_NONCE_BYTES = 12
_log = structlog.get_logger("i18n_connect.idempotency")


def parse_key(values: list[bytes]) -> str:
    """The key of the header's one value: a structured-field string (``"…"``, RFC 8941
    §3.3.3) or the bare value; `InvalidRequest` when it is not one usable key."""
    if len(values) != 1:
        raise InvalidRequest(f"Send one {HEADER} header.")
    raw = values[0].decode("latin-1").strip()
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        raw = re.sub(r"\\([\\\"])", r"\1", raw[1:-1])
    if not raw or len(raw) > MAX_KEY_LENGTH or not _PRINTABLE.fullmatch(raw):
        raise InvalidRequest(
            f"{HEADER} must be 1 to {MAX_KEY_LENGTH} printable ASCII characters, e.g. a UUID."
        )
    return raw


def request_hash(method: str, path: str, query: bytes, body: Iterable[bytes]) -> str:
    """What makes two requests the same: method, path, query string and body bytes."""
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    for chunk in body:
        digest.update(chunk)
    return digest.hexdigest()


class _ResponseBox:
    """Encrypts kept answers: a body may hold a secret (a new webhook signing secret)."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    @staticmethod
    def _bound(caller: str, key: str, hashed: str) -> bytes:
        return "\x00".join((caller, key, hashed)).encode()

    def seal(self, body: bytes, *, caller: str, key: str, hashed: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, body, self._bound(caller, key, hashed))

    def open(self, sealed: bytes, *, caller: str, key: str, hashed: str) -> bytes:
        nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        return self._aead.decrypt(nonce, ciphertext, self._bound(caller, key, hashed))


@dataclass(frozen=True, slots=True)
class _Claim:
    caller: str
    key: str
    hashed: str
    at: datetime


def _applies(scope: Scope) -> bool:
    if scope["type"] != "http" or scope["method"] not in WRITES:
        return False
    path: str = scope["path"]
    if not path.startswith(PREFIX):
        return False
    return not any(
        scope["method"] == method and pattern.fullmatch(path) for method, pattern in EXCLUDED
    )


class IdempotencyMiddleware:
    """ASGI middleware: ``Idempotency-Key`` on the partner API's writes (module docstring)."""

    def __init__(self, app: ASGIApp, *, services: Services) -> None:
        self.app = app
        self.services = services
        self.box = _ResponseBox(services.settings.derived_key("idempotency-response"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if not _applies(scope):
            await self.app(scope, receive, send)
            return
        values = [value for name, value in scope["headers"] if name == _HEADER_BYTES]
        if not values:
            await self.app(scope, receive, send)
            return
        try:
            key = parse_key(values)
            messages = await _read_body(receive)
        except ProtocolError as error:
            await error_response(error)(scope, receive, send)
            return
        if messages is None:  # the client went away (or was answered 408) before the end
            return
        chunks = (message.get("body", b"") for message in messages)
        hashed = request_hash(
            scope["method"], scope["path"], scope.get("query_string", b""), chunks
        )
        replay = replaying(messages, receive)
        try:
            caller = await write_caller(Request(scope))
            now = self.services.clock.now()
            claim = None if caller is None else _Claim(caller, key, hashed, now)
            answered = claim is not None and await self._answer_or_claim(claim, scope, send)
        except DATABASE_UNAVAILABLE:
            answer = error_response(TemporarilyUnavailable(), headers={"Retry-After": "1"})
            await answer(scope, receive, send)
            return
        if claim is None:  # the credentials prove nobody: the route answers them
            await self.app(scope, replay, send)
        elif not answered:
            await self._run(claim, scope, replay, send)

    async def _answer_or_claim(self, claim: _Claim, scope: Scope, send: Send) -> bool:
        """Answer from the record holding the key (``True``), or claim it (``False``). A kept
        answer that cannot be read — sealed under another server secret — is forgotten, and
        the request runs."""
        for _ in range(2):
            held = await self._claim(claim)
            if held is None:
                return False
            if await self._answer_held(claim, held, scope, send):
                return True
        await _send_error(IdempotencyKeyInFlight(), scope, send, {"Retry-After": "1"})
        return True

    def _opened(self, claim: _Claim, held: idempotency_keys.IdempotencyRecord) -> bytes | None:
        try:
            return self.box.open(
                held.body or b"", caller=claim.caller, key=claim.key, hashed=claim.hashed
            )
        except InvalidTag:
            _log.warning("idempotency.unreadable", key_created_at=held.created_at.isoformat())
            return None

    async def _forget(self, claim: _Claim, held: idempotency_keys.IdempotencyRecord) -> None:
        async with self.services.db.transaction() as conn:
            await idempotency_keys.forget(
                conn, caller=claim.caller, key=claim.key, created_at=held.created_at
            )

    async def _claim(self, claim: _Claim) -> idempotency_keys.IdempotencyRecord | None:
        async with self.services.db.transaction() as conn:
            return await idempotency_keys.claim(
                conn,
                caller=claim.caller,
                key=claim.key,
                request_hash=claim.hashed,
                now=claim.at,
                expires_at=claim.at + KEY_LIFETIME,
                stale_before=claim.at - STALE_CLAIM,
            )

    async def _answer_held(
        self, claim: _Claim, held: idempotency_keys.IdempotencyRecord, scope: Scope, send: Send
    ) -> bool:
        """Answer from the record that holds the key; ``False`` (and the record forgotten)
        when its kept answer cannot be read: it was sealed under another server secret."""
        if held.request_hash != claim.hashed:
            await _send_error(IdempotencyKeyReused(), scope, send)
            return True
        if held.status is None:
            await _send_error(IdempotencyKeyInFlight(), scope, send, {"Retry-After": "1"})
            return True
        body = self._opened(claim, held)
        if body is None:
            await self._forget(claim, held)
            return False
        headers = [(name.encode(), value.encode()) for name, value in (held.headers or {}).items()]
        headers.append((REPLAYED.lower().encode(), b"true"))
        if held.status >= 200 and held.status not in (204, 304):
            headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": held.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})
        return True

    async def _run(self, claim: _Claim, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the route, hold its answer, keep it (or give the key back), then send it."""
        start: Message | None = None
        chunks: list[bytes] = []
        settled = False

        async def held(message: Message) -> None:
            nonlocal start, settled
            if message["type"] == "http.response.start":
                start = message
                return
            if message["type"] != "http.response.body" or start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            settled = True
            try:
                await self._settle(claim, start["status"], start.get("headers", []), body)
            except DATABASE_UNAVAILABLE as error:  # the answer still goes out; the claim goes
                _log.warning("idempotency.unsettled", error=type(error).__name__)  # stale
            await send(start)
            await send({"type": "http.response.body", "body": body})

        try:
            await self.app(scope, receive, held)
        finally:
            if not settled:
                with anyio.CancelScope(shield=True):
                    await self._release(claim)

    async def _settle(
        self, claim: _Claim, status: int, raw_headers: list[tuple[bytes, bytes]], body: bytes
    ) -> None:
        if not (200 <= status < 300 or (400 <= status < 500 and status not in _NOT_KEPT)):
            await self._release(claim)
            return
        kept = _kept_headers(raw_headers)
        sealed = self.box.seal(body, caller=claim.caller, key=claim.key, hashed=claim.hashed)
        async with self.services.db.transaction() as conn:
            await idempotency_keys.complete(
                conn,
                caller=claim.caller,
                key=claim.key,
                claimed_at=claim.at,
                status=status,
                headers=kept,
                body=sealed,
            )

    async def _release(self, claim: _Claim) -> None:
        async with self.services.db.transaction() as conn:
            await idempotency_keys.release(
                conn, caller=claim.caller, key=claim.key, claimed_at=claim.at
            )


async def _send_error(
    error: ProtocolError, scope: Scope, send: Send, headers: dict[str, str] | None = None
) -> None:
    async def nothing() -> Message:  # an error response reads no body
        return {"type": "http.disconnect"}

    await error_response(error, headers=headers)(scope, nothing, send)


def _kept_headers(raw: list[tuple[bytes, bytes]]) -> dict[str, str]:
    kept: dict[str, str] = {}
    for name, value in raw:
        lowered = name.decode("latin-1").lower()
        if lowered in KEPT_HEADERS:
            kept[lowered] = value.decode("latin-1")
    return kept


async def _read_body(receive: Receive) -> list[Message] | None:
    """The request's body messages; ``None`` when the body never completed."""
    messages: list[Message] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return None
        messages.append(message)
        if not message.get("more_body"):
            return messages


_KEY_PARAMETER: dict[str, Any] = {
    "name": HEADER,
    "in": "header",
    "required": False,
    "description": (
        "Makes this write safe to retry: the same key with the same request within 24 hours "
        "answers the first answer again (with Idempotent-Replayed: true) and changes nothing; "
        "the same key with another request is 422 idempotency_key_reused; while the first "
        "request runs, 409 idempotency_key_in_flight. A UUID per logical write is a good key."
    ),
    "schema": {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_KEY_LENGTH,
        "pattern": "^[!-~]+$",
    },
}
_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
_RESPONSES = {
    "409": "idempotency_key_in_flight: a request with this Idempotency-Key is still running",
    "422": "idempotency_key_reused: the Idempotency-Key was used for a different request",
}


def document(schema: Mapping[str, Any]) -> None:
    """Add the ``Idempotency-Key`` parameter and its 409 and 422 answers to every write of the
    partner API in an OpenAPI document (in place)."""
    for path, operations in schema.get("paths", {}).items():
        if not path.startswith(PREFIX):
            continue
        for method, operation in operations.items():
            verb = method.upper()
            if verb not in WRITES or any(
                verb == excluded and pattern.fullmatch(path) for excluded, pattern in EXCLUDED
            ):
                continue
            operation.setdefault("parameters", []).append(dict(_KEY_PARAMETER))
            responses = operation.setdefault("responses", {})
            for status, description in _RESPONSES.items():
                existing = responses.get(status)
                if existing is None:
                    responses[status] = {
                        "description": description,
                        "content": {"application/json": {"schema": _ERROR_REF}},
                    }
                else:
                    existing["description"] = f"{existing.get('description', '')}; {description}"
