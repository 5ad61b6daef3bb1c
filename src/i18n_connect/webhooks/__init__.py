"""Webhooks (Standard Webhooks, https://www.standardwebhooks.com): a client's endpoints, events
written in the transaction of the change they report, signed deliveries retried by serve."""

from __future__ import annotations

__all__: list[str] = []
