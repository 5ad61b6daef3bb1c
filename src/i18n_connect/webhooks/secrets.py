"""Endpoint signing secrets: made, kept encrypted at rest, and used to sign (Standard Webhooks
§"Signature scheme").

The scheme signs with HMAC-SHA256 keyed by the raw secret, so the server must be able to read
the secret back: it cannot keep only a hash, as it does for client secrets. Each secret is
encrypted with AES-256-GCM under a key derived from the server secret (``webhook-secret``),
with the endpoint's id as associated data, so a ciphertext copied to another endpoint does
not decrypt. Signing uses the `standardwebhooks` package; during a rotation's overlap the
``webhook-signature`` header carries one signature per secret, which every verifier accepts.
"""

from __future__ import annotations

import base64
import os
import secrets
from collections.abc import Iterable
from datetime import datetime

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from standardwebhooks.webhooks import Webhook

__all__ = ["SECRET_PREFIX", "SecretBox", "new_signing_secret", "signature_header"]

SECRET_PREFIX = "whsec_"  # noqa: S105  (the prefix of the format, not a secret)
_SECRET_BYTES = 32
_NONCE_BYTES = 12


def new_signing_secret() -> str:
    """A fresh ``whsec_…`` secret: 256 random bits, base64 (the format partners' libraries read)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(_SECRET_BYTES)).decode()


class SecretBox:
    """Encrypts and decrypts signing secrets with a key of the server secret."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def seal(self, secret: str, *, endpoint_id: str) -> bytes:
        nonce = os.urandom(_NONCE_BYTES)
        return nonce + self._aead.encrypt(nonce, secret.encode(), endpoint_id.encode())

    def open(self, sealed: bytes, *, endpoint_id: str) -> str:
        nonce, ciphertext = sealed[:_NONCE_BYTES], sealed[_NONCE_BYTES:]
        return self._aead.decrypt(nonce, ciphertext, endpoint_id.encode()).decode()


def signature_header(
    signing_secrets: Iterable[str], *, msg_id: str, at: datetime, body: str
) -> str:
    """The ``webhook-signature`` value: ``v1,<base64>`` for each secret, space-separated."""
    return " ".join(
        Webhook(secret).sign(msg_id=msg_id, timestamp=at, data=body) for secret in signing_secrets
    )
