"""The SDK's `verify_webhook` against what the server signs: a good delivery verifies, and a
tampered body, another secret, a stale timestamp (a replay), a missing header or a garbled
signature each raise `InvalidWebhook` with the reason."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from i18n_connect.client import InvalidWebhook, verify_webhook
from i18n_connect.webhooks.secrets import new_signing_secret, signature_header

SECRET = new_signing_secret()
BODY = json.dumps({"type": "grant.revoked", "timestamp": "t", "data": {"grant_id": "grt_1"}})


def _headers(
    *, secrets: tuple[str, ...] = (SECRET,), at: datetime | None = None, body: str = BODY
) -> dict[str, str]:
    at = at or datetime.now(UTC)
    return {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature_header(secrets, msg_id="msg_1", at=at, body=body),
    }


def test_a_signed_delivery_verifies() -> None:
    assert verify_webhook(SECRET, BODY.encode(), _headers())["data"] == {"grant_id": "grt_1"}


def test_either_secret_verifies_during_a_rotation_overlap() -> None:
    new = new_signing_secret()
    headers = _headers(secrets=(new, SECRET))
    assert verify_webhook(SECRET, BODY, headers) == verify_webhook(new, BODY, headers)


# Headers are made when the test runs, not when it is collected: a delivery signed minutes
# earlier is refused as a replay whatever else is wrong with it.
@pytest.mark.parametrize(
    ("secret", "body", "headers", "message"),
    [
        (SECRET, BODY.replace("grt_1", "grt_2"), _headers, "No matching signature found"),
        (new_signing_secret(), BODY, _headers, "No matching signature found"),
        (
            SECRET,
            BODY,
            lambda: _headers(at=datetime.now(UTC) - timedelta(minutes=6)),
            "Message timestamp too old",
        ),
        (
            SECRET,
            BODY,
            lambda: {k: v for k, v in _headers().items() if k != "webhook-id"},
            "Missing required headers",
        ),
        (SECRET, BODY, lambda: {**_headers(), "webhook-signature": "v1"}, None),
    ],
    ids=["tampered-body", "other-secret", "replayed", "missing-header", "garbled-signature"],
)
def test_a_bad_delivery_is_refused(
    secret: str, body: str, headers: Callable[[], dict[str, str]], message: str | None
) -> None:
    with pytest.raises(InvalidWebhook) as refused:
        verify_webhook(secret, body, headers())
    assert refused.value.error == "invalid_webhook"
    if message is not None:
        assert refused.value.description == message
