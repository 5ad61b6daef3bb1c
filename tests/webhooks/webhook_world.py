"""The webhook tests' world: two confidential apps, Ada (owner of Acme, admin of Globex) and
Bob, the services on the system clock, and helpers (imported by name: tests/webhooks is on
sys.path; the fixtures are in conftest.py)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from i18n_connect.services import Services
from i18n_connect.storage import webhooks as webhook_store
from i18n_connect.webhooks import endpoints

PASSWORD = "correct horse battery"


@dataclass
class World:
    services: Services
    http: httpx.AsyncClient
    client_id: str
    client_secret: str
    other_client_id: str
    other_client_secret: str
    ada: str
    acme: str
    globex: str

    @property
    def auth(self) -> httpx.BasicAuth:
        return httpx.BasicAuth(self.client_id, self.client_secret)

    async def endpoint(self, url: str, event_types: list[str] | None = None) -> tuple[str, str]:
        """A new endpoint of the app: its id and signing secret."""
        async with self.services.db.transaction() as conn:
            created = await endpoints.create_endpoint(
                conn,
                self.services,
                client_id=self.client_id,
                url=url,
                event_types=event_types or ["grant.created", "grant.revoked", "grant.updated"],
                now=self.services.clock.now(),
            )
        return created.endpoint.id, created.secret

    async def deliveries(self) -> list[webhook_store.Delivery]:
        async with self.services.db.transaction(readonly=True) as conn:
            return await webhook_store.list_deliveries(
                conn, client_id=self.client_id, endpoint_id=None, limit=100
            )
