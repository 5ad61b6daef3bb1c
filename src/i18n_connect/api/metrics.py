"""Prometheus counters of grants in use: installation tokens minted, grants revoked, and
tokens revoked one by one (RFC 7009).

They live in the app's registry (``Services.metrics``, served at ``/metrics``);
`create_app` puts the one instance on ``app.state``; `grant_metrics` returns it.
"""

from __future__ import annotations

from fastapi import Request
from prometheus_client import CollectorRegistry, Counter

__all__ = ["GrantMetrics", "grant_metrics"]

REVOCATION_PATHS = ("partner_api", "connected_apps")


class GrantMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.tokens_minted = Counter(
            "i18n_connect_installation_tokens_minted",
            "Installation tokens minted.",
            registry=registry,
        )
        self.grants_revoked = Counter(
            "i18n_connect_grants_revoked",
            "Grants revoked, by the path that revoked them.",
            ["via"],
            registry=registry,
        )
        self.tokens_revoked = Counter(
            "i18n_connect_tokens_revoked",
            "Refresh chains and installation tokens revoked at the RFC 7009 endpoint, by kind.",
            ["kind"],
            registry=registry,
        )
        for kind in ("refresh_token", "installation_token"):
            self.tokens_revoked.labels(kind=kind)
        for via in REVOCATION_PATHS:
            self.grants_revoked.labels(via=via)


def grant_metrics(request: Request) -> GrantMetrics:
    metrics: GrantMetrics = request.app.state.grant_metrics
    return metrics
