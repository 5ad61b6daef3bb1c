"""The device authorization grant (RFC 8628): the device authorization endpoint (§3.1-§3.2),
user codes (§6.1) and the token endpoint's polling (§3.4-§3.5).

Only a client that registered the grant type ``urn:ietf:params:oauth:grant-type:device_code``
may use it (``unauthorized_client`` otherwise), authenticated as at the token endpoint. A
request lives ten minutes. The ``device_code`` is a 256-bit secret and the ``user_code``
eight letters of an alphabet without vowels or look-alikes (``BCDFGHJKLMNPQRSTVWXZ``: no
0/O, 1/I, and no words), shown as ``XXXX-XXXX``; both are stored only as keyed hashes.

Polling: ``authorization_pending`` until the user answers; a poll sooner than the
interval (less one second of slack for network jitter) answers ``slow_down`` and grows
the interval by 5 seconds for every later poll (§3.5); ``access_denied`` after a denial;
``expired_token`` after ten minutes. An approved request is consumed by one conditional
update, so its ``device_code`` yields tokens once; a later redemption answers
``invalid_grant`` and changes nothing. Another client's ``device_code`` is
``invalid_grant`` as an unknown one is.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.errors import (
    AuthorizationPending,
    DeviceAccessDenied,
    ExpiredToken,
    InvalidGrant,
    InvalidRequest,
    InvalidTarget,
    ProtocolError,
    SlowDown,
    UnauthorizedClient,
)
from i18n_connect.ids import SecretHasher, new_id, new_secret
from i18n_connect.oauth.authorize import requested_scope
from i18n_connect.oauth.client_auth import authenticate_client, client_credentials
from i18n_connect.oauth.clients import Client
from i18n_connect.oauth.registration import DEVICE_CODE_GRANT
from i18n_connect.services import Services
from i18n_connect.storage import device_authorizations as stored
from i18n_connect.storage.device_authorizations import DeviceAuthorization

__all__ = [
    "DEVICE_CODE_GRANT",
    "DEVICE_PATH",
    "LIFETIME",
    "USER_CODE_ALPHABET",
    "DeviceAuthorizationResponse",
    "claim_device_code",
    "format_user_code",
    "normalize_user_code",
    "start_device_authorization",
    "user_code_hash",
]

DEVICE_PATH = "/device"
LIFETIME = timedelta(minutes=10)
SLOW_DOWN_STEP = 5  # seconds, RFC 8628 §3.5
USER_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"  # RFC 8628 §6.1: 20^8 ≈ 2^34.6 codes
USER_CODE_LENGTH = 8
_POLL_SLACK = timedelta(seconds=1)
_MAX_CODE_LENGTH = 200
_TYPED_SEPARATORS = str.maketrans("", "", "- \t")


@dataclass(frozen=True, slots=True)
class DeviceAuthorizationResponse:
    """RFC 8628 §3.2."""

    device_code: str
    user_code: str
    verification_uri: str
    expires_in: int
    interval: int

    def body(self) -> dict[str, Any]:
        return {
            "device_code": self.device_code,
            "user_code": self.user_code,
            "verification_uri": self.verification_uri,
            "verification_uri_complete": f"{self.verification_uri}?user_code={self.user_code}",
            "expires_in": self.expires_in,
            "interval": self.interval,
        }


def format_user_code(normalized: str) -> str:
    """``BCDFGHJK`` → ``BCDF-GHJK``."""
    half = USER_CODE_LENGTH // 2
    return f"{normalized[:half]}-{normalized[half:]}"


def normalize_user_code(typed: str) -> str | None:
    """What the user typed, upper case without dashes or spaces; ``None`` when it cannot be
    a user code (wrong length or a letter outside the alphabet)."""
    code = typed.translate(_TYPED_SEPARATORS).upper()
    if len(code) != USER_CODE_LENGTH or not set(code) <= set(USER_CODE_ALPHABET):
        return None
    return code


def user_code_hash(hasher: SecretHasher, normalized: str) -> str:
    """The keyed hash a user code is stored under (in its own namespace)."""
    return hasher.hash(f"user-code:{normalized}")


def _require_grant_type(client: Client) -> None:
    if DEVICE_CODE_GRANT not in client.grant_types:
        raise UnauthorizedClient(
            f"This client did not register the grant type {DEVICE_CODE_GRANT}; "
            "update its registration to use the device flow."
        )


async def start_device_authorization(
    conn: AsyncConnection,
    services: Services,
    *,
    params: Mapping[str, str],
    authorization: str | None,
) -> DeviceAuthorizationResponse:
    """Answer one device authorization request (RFC 8628 §3.1-§3.2)."""
    now = services.clock.now()
    client = await authenticate_client(
        conn,
        client_credentials(authorization, params),
        hasher=services.hasher,
        now=now,
        services=services,
    )
    _require_grant_type(client)
    scope = requested_scope(client, params.get("scope"))
    resource = params.get("resource")
    if resource is not None and resource not in services.settings.resources:
        raise InvalidTarget("The resource is not served by this authorization server.")
    device_code = new_secret("dc_")
    pending = DeviceAuthorization(
        id=new_id("dva"),
        client_id=client.id,
        scope=scope,
        resource=resource,
        interval=services.settings.device_poll_interval_seconds,
        next_poll_at=now,
        status="pending",
        created_at=now,
        expires_at=now + LIFETIME,
    )
    while True:  # a user code already in use (about one in 2^34 per live request) draws again
        user_code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))
        if await stored.insert_authorization(
            conn,
            pending,
            device_code_hash=services.hasher.hash(device_code),
            user_code_hash=user_code_hash(services.hasher, user_code),
        ):
            break
    return DeviceAuthorizationResponse(
        device_code=device_code,
        user_code=format_user_code(user_code),
        verification_uri=services.settings.issuer + DEVICE_PATH,
        expires_in=int(LIFETIME.total_seconds()),
        interval=services.settings.device_poll_interval_seconds,
    )


async def claim_device_code(
    conn: AsyncConnection, services: Services, client: Client, params: Mapping[str, str]
) -> DeviceAuthorization | ProtocolError:
    """The approved request the ``device_code`` names, consumed; or the answer to give while
    it is not (returned when the poll's bookkeeping must be committed, else raised)."""
    _require_grant_type(client)
    device_code = params.get("device_code")
    if device_code is None:
        raise InvalidRequest("The device_code parameter is required.")
    unknown = InvalidGrant("The device_code is unknown or was issued to another client.")
    if len(device_code) > _MAX_CODE_LENGTH:
        raise unknown
    now = services.clock.now()
    code_hash = services.hasher.hash(device_code)
    redeemed = await stored.redeem(conn, device_code_hash=code_hash, client_id=client.id, now=now)
    if redeemed is not None:
        return redeemed
    found = await stored.by_device_code_hash(conn, code_hash)
    if found is None or found.client_id != client.id:
        raise unknown
    if found.consumed_at is not None:
        raise InvalidGrant("The device_code was already used.")
    if found.expires_at <= now:
        raise ExpiredToken()
    if found.status == "approved":  # consumed by a concurrent redemption meanwhile
        raise InvalidGrant("The device_code was already used.")
    if found.status == "denied":
        raise DeviceAccessDenied("The user denied the request.")
    return await _pending(conn, found, now)


async def _pending(
    conn: AsyncConnection, found: DeviceAuthorization, now: datetime
) -> ProtocolError:
    """``authorization_pending``, or ``slow_down`` for a poll sooner than the interval."""
    if now + _POLL_SLACK >= found.next_poll_at and await stored.poll_allowed(
        conn, found, next_poll_at=now + timedelta(seconds=found.interval)
    ):
        return AuthorizationPending()
    interval = await stored.slow_down(conn, found, step=SLOW_DOWN_STEP, now=now)
    return SlowDown(f"Polling too often: wait {interval} seconds between requests from now on.")
