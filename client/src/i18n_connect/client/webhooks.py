"""Verify a webhook from i18n-connect (Standard Webhooks §"Verifying webhooks").

`verify_webhook` checks the ``webhook-signature`` over ``webhook-id``, ``webhook-timestamp``
and the raw body with the endpoint's ``whsec_…`` secret, refuses a timestamp more than five
minutes from now (replays), and returns the parsed event. It delegates to the
`standardwebhooks` package (pure Python, no dependencies of its own), so the SDK verifies
exactly as the reference implementation does. Pass the body *as received*: bytes, before
any JSON parsing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from i18n_connect.client.errors import I18nConnectError

__all__ = ["InvalidWebhook", "verify_webhook"]


class InvalidWebhook(I18nConnectError):
    """The request is not a webhook signed by i18n-connect with this secret, or is too old."""

    code = "invalid_webhook"


def verify_webhook(secret: str, body: bytes | str, headers: Mapping[str, str]) -> dict[str, Any]:
    """The verified event (``type``, ``timestamp``, ``data``); `InvalidWebhook` otherwise.

    During a secret rotation's overlap the server signs with both secrets: either verifies.
    """
    try:
        event = Webhook(secret).verify(body, dict(headers))
    except (WebhookVerificationError, ValueError) as exc:
        raise InvalidWebhook(str(exc) or "The webhook signature does not verify.") from exc
    if not isinstance(event, dict):
        raise InvalidWebhook("The webhook body is not a JSON object.")
    return event
