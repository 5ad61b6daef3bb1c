"""Platform fixtures: an organization with two projects, the first also translated into German."""

from __future__ import annotations

import pytest
from sqlalchemy import insert

from i18n_connect.clock import FrozenClock
from i18n_connect.services import Services
from i18n_connect.storage.tables import organizations, project_languages, projects


@pytest.fixture
async def project_id(services: Services, clock: FrozenClock) -> str:
    """Seed org_a with projects prj_a (source en, plus de) and prj_b (en only); return prj_a."""
    async with services.db.transaction() as conn:
        await conn.execute(
            insert(organizations).values(
                id="org_a", slug="acme", name="Acme", created_at=clock.now()
            )
        )
        for pid in ("prj_a", "prj_b"):
            await conn.execute(
                insert(projects).values(
                    id=pid,
                    organization_id="org_a",
                    slug=pid.replace("_", "-"),
                    name=pid,
                    source_language="en",
                    created_at=clock.now(),
                )
            )
        await conn.execute(
            insert(project_languages).values(project_id="prj_a", code="de", created_at=clock.now())
        )
    return "prj_a"
