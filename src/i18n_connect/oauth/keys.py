"""Access-token signing keys: ES256 (RFC 7518 §3.4), kept in the database, published as a
JWK Set (RFC 7517 §5), rotated without breaking tokens already issued.

Private keys are stored as PKCS#8 PEM encrypted with AES-256-GCM under a key
derived from the server secret (the key id is the associated data). The key
id is the RFC 7638 thumbprint of the public key.

`KeyRing` is the per-process view: it parses each key once, signs with the
newest key that is not retired, and publishes every key that is not past its
``expires_at``. It reloads from the database every minute and, at most once a
second, when it meets an unknown ``kid`` — so several processes agree soon
after ``i18n-connect keys rotate``. A retired key stays published for the
lifetime of an access token plus a margin, then disappears.

The server creates the first key at start-up (`KeyRing.load`, called by the
app's lifespan, in a transaction of its own) and nowhere else: a request never
writes keys, and one that finds none is a `ConfigurationError`. Reloads run
their own read-only transactions.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from joserfc.jwk import ECKey
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.clock import Clock
from i18n_connect.settings import ConfigurationError
from i18n_connect.storage import Database, signing_keys

__all__ = [
    "ALGORITHM",
    "KEY_MARGIN",
    "KeyRing",
    "Rotation",
    "SigningKey",
    "create_key",
    "rotate_keys",
]

ALGORITHM = "ES256"
KEY_MARGIN = timedelta(minutes=5)  # clock skew and processes that reload a minute late
_RELOAD_SECONDS = 60.0
_UNKNOWN_KID_RELOAD_SECONDS = 1.0
_NONCE_BYTES = 12


@dataclass(frozen=True, slots=True)
class SigningKey:
    kid: str
    created_at: datetime
    retired_at: datetime | None
    expires_at: datetime | None
    public: ECKey
    private: ECKey | None  # only for the key that signs

    def published_at(self, now: datetime) -> bool:
        return self.expires_at is None or self.expires_at > now

    def public_jwk(self) -> dict[str, Any]:
        return {
            **self.public.as_dict(private=False),
            "kid": self.kid,
            "use": "sig",
            "alg": ALGORITHM,
        }


@dataclass(frozen=True, slots=True)
class Rotation:
    kid: str
    retired: tuple[str, ...]
    retired_published_until: datetime


def _encrypt(kek: bytes, kid: str, pem: bytes) -> bytes:
    nonce = os.urandom(_NONCE_BYTES)
    return nonce + AESGCM(kek).encrypt(nonce, pem, b"signing-key:" + kid.encode())


def _decrypt(kek: bytes, kid: str, blob: bytes) -> bytes:
    nonce, sealed = blob[:_NONCE_BYTES], blob[_NONCE_BYTES:]
    return AESGCM(kek).decrypt(nonce, sealed, b"signing-key:" + kid.encode())


async def create_key(conn: AsyncConnection, *, now: datetime, kek: bytes) -> str:
    """Generate a P-256 key, store it encrypted, and return its ``kid``."""
    key = ECKey.generate_key("P-256", private=True, auto_kid=False)
    kid = key.thumbprint()
    public = {**key.as_dict(private=False), "kid": kid, "use": "sig", "alg": ALGORITHM}
    await signing_keys.insert_key(
        conn,
        kid=kid,
        algorithm=ALGORITHM,
        private_key=_encrypt(kek, kid, key.as_pem(private=True)),
        public_jwk=public,
        created_at=now,
    )
    return kid


async def rotate_keys(
    conn: AsyncConnection, *, now: datetime, kek: bytes, token_lifetime: timedelta
) -> Rotation:
    """Add a key that becomes current; retire the others, published until their tokens expire."""
    await signing_keys.lock_keys(conn)
    kid = await create_key(conn, now=now, kek=kek)
    until = now + token_lifetime + KEY_MARGIN
    retired = await signing_keys.retire_other_keys(conn, kid=kid, now=now, expires_at=until)
    return Rotation(kid=kid, retired=retired, retired_published_until=until)


async def _ensure_current_key(conn: AsyncConnection, *, now: datetime, kek: bytes) -> None:
    await signing_keys.lock_keys(conn)
    if not await signing_keys.has_current_key(conn):
        await create_key(conn, now=now, kek=kek)


class KeyRing:
    """The parsed signing keys of this process (see the module docstring)."""

    def __init__(self, db: Database, clock: Clock, kek: bytes) -> None:
        self._db = db
        self._clock = clock
        self._kek = kek
        self._keys: dict[str, SigningKey] = {}
        self._current: SigningKey | None = None
        self._loaded_at = float("-inf")
        self._unknown_kid_at = float("-inf")
        self._lock = asyncio.Lock()

    async def load(self) -> None:
        """Read the keys now, creating the first one when there is no current key: the
        server's start-up, outside any transaction."""
        async with self._lock:
            await self._load(create=True)

    async def _load(self, *, create: bool) -> None:
        rows = await self._read()
        if create and not any(row.retired_at is None for row in rows):
            async with self._db.transaction() as conn:
                await _ensure_current_key(conn, now=self._clock.now(), kek=self._kek)
            rows = await self._read()
        keys = {row.kid: self._parse(row) for row in rows}
        live = [key for key in keys.values() if key.retired_at is None]
        newest = max(live, key=lambda key: (key.created_at, key.kid)) if live else None
        if newest is not None and newest.private is None:
            newest = self._with_private(newest, rows)
            keys[newest.kid] = newest
        self._keys, self._current = keys, newest
        self._loaded_at = time.monotonic()

    async def _read(self) -> list[Any]:
        async with self._db.transaction(readonly=True) as conn:
            return list(await signing_keys.read_keys(conn, algorithm=ALGORITHM))

    def _parse(self, row: Any) -> SigningKey:
        known = self._keys.get(row.kid)
        if known is not None:  # parsed before: keep the key objects, take the new dates
            return SigningKey(
                row.kid, row.created_at, row.retired_at, row.expires_at, known.public, known.private
            )
        public = ECKey.import_key(
            {name: row.public_jwk[name] for name in ("kty", "crv", "x", "y")}, {"kid": row.kid}
        )
        return SigningKey(row.kid, row.created_at, row.retired_at, row.expires_at, public, None)

    def _with_private(self, key: SigningKey, rows: list[Any]) -> SigningKey:
        blob = next(row.private_key for row in rows if row.kid == key.kid)
        try:
            pem = _decrypt(self._kek, key.kid, blob)
        except InvalidTag as exc:
            raise ConfigurationError(
                f"signing key {key.kid} cannot be decrypted with this server secret; "
                "set the secret it was created with, or run `i18n-connect keys rotate`"
            ) from exc
        private = ECKey.import_key(pem, {"kid": key.kid})
        return SigningKey(
            key.kid, key.created_at, key.retired_at, key.expires_at, key.public, private
        )

    async def _refresh_if_stale(self) -> None:
        if time.monotonic() - self._loaded_at >= _RELOAD_SECONDS:
            async with self._lock:
                if time.monotonic() - self._loaded_at >= _RELOAD_SECONDS:
                    await self._load(create=False)

    async def signing_key(self) -> SigningKey:
        """The key that signs new tokens; `ConfigurationError` when the store has none (the
        first key is made at start-up by `load`, never by a request)."""
        await self._refresh_if_stale()
        if self._current is None:
            async with self._lock:
                await self._load(create=False)
        if self._current is None:
            raise ConfigurationError(
                "there is no signing key: the server creates one when it starts "
                "(KeyRing.load), or run `i18n-connect keys rotate`"
            )
        return self._current

    async def verification_key(self, kid: str) -> SigningKey | None:
        """The published key with this ``kid``; reloads (rate-limited) when it is unknown."""
        await self._refresh_if_stale()
        key = self._keys.get(kid)
        if key is None and time.monotonic() - self._unknown_kid_at >= _UNKNOWN_KID_RELOAD_SECONDS:
            async with self._lock:
                if kid not in self._keys:
                    self._unknown_kid_at = time.monotonic()
                    await self._load(create=False)
            key = self._keys.get(kid)
        if key is None or not key.published_at(self._clock.now()):
            return None
        return key

    async def jwks(self) -> dict[str, list[dict[str, Any]]]:
        """The JWK Set: the current key and retired keys whose tokens may still be live."""
        await self._refresh_if_stale()
        now = self._clock.now()
        keys = sorted(
            (key for key in self._keys.values() if key.published_at(now)),
            key=lambda key: (key.retired_at is None, key.created_at, key.kid),
            reverse=True,
        )
        return {"keys": [key.public_jwk() for key in keys]}
