"""The demo seed: everything the README promises, created once; a second run reuses it."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.clock import FrozenClock
from i18n_connect.demo import (
    CLIENT_NAME,
    DEMO_EMAIL,
    DEMO_SCOPE,
    REDIRECT_URI,
    authorize_link,
    demo_password,
    seed,
    welcome_text,
)
from i18n_connect.oauth.clients import get_client
from i18n_connect.oauth.pkce import s256_challenge
from i18n_connect.platform import accounts, content, glossary, projects, translations
from i18n_connect.platform import organizations as orgs
from i18n_connect.services import Services
from i18n_connect.settings import Settings
from i18n_connect.storage.oauth_tables import oauth_clients
from i18n_connect.storage.tables import metadata


async def _row_counts(conn: AsyncConnection) -> dict[str, int]:
    counts = {}
    for table in metadata.sorted_tables:
        counts[table.name] = int(
            await conn.scalar(sa.select(sa.func.count()).select_from(table)) or 0
        )
    return counts


async def test_demo_seeds_users_organizations_projects_and_a_client(
    services: Services, clock: FrozenClock
) -> None:
    seeded = await seed(services)
    assert seeded.created
    assert (seeded.email, seeded.password) == (
        DEMO_EMAIL,
        demo_password(services.settings, DEMO_EMAIL),
    )
    assert seeded.password is not None and len(seeded.password) == 16
    async with services.db.transaction() as conn:
        user = await accounts.authenticate(conn, DEMO_EMAIL, seeded.password)
        assert user is not None
        roles = {org.slug: role for org, role in await orgs.list_memberships(conn, user.id)}
        assert roles == {"acme": "owner", "globex": "admin", "initech": "member"}
        administered = await orgs.administered_organizations(conn, user.id)
        assert [org.slug for org in administered] == ["acme", "globex"]
        acme = administered[0]
        listed = await projects.list_projects(conn, acme.id)
        assert [(p.slug, p.languages) for p in listed] == [
            ("mobile", ("en", "es", "pt-BR")),
            ("web-app", ("en", "de", "fr", "ja")),
        ]
        web = listed[1]
        german = {
            t.key: (t.draft, t.published)
            for t in await translations.get_translations(conn, web.id, "de")
        }
        assert german["checkout.title"] == ("Kasse", "Kasse")
        assert german["nav.settings"] == ("Optionen", "Einstellungen")
        assert german["checkout.pay_button"] == ("Jetzt bezahlen", None)
        assert await translations.published_translations(conn, web.id, "fr") == {}
        terms = await glossary.list_terms(conn, web.id)
        assert [(t.term, t.translations["de"]) for t in terms] == [("Checkout", "Kasse")]
        entries = await content.list_entries(conn, web.id, "blog-post")
        assert [(e.slug, e.published is not None) for e in entries] == [
            ("hello-world", True),
            ("roadmap-2027", False),
        ]
        client = await get_client(conn, seeded.client_id)
        assert client is not None
        assert (client.name, client.redirect_uris, client.is_confidential) == (
            CLIENT_NAME,
            (REDIRECT_URI,),
            False,
        )


async def test_a_second_demo_run_reuses_everything(services: Services, clock: FrozenClock) -> None:
    first = await seed(services)
    async with services.db.transaction(readonly=True) as conn:
        before = await _row_counts(conn)
    clock.advance(minutes=5)
    second = await seed(services)
    assert not second.created
    assert (second.email, second.password, second.client_id) == (
        first.email,
        first.password,
        first.client_id,
    )
    async with services.db.transaction(readonly=True) as conn:
        assert await _row_counts(conn) == before
        assert await accounts.authenticate(conn, DEMO_EMAIL, second.password) is not None


async def test_a_deleted_demo_client_is_registered_again(
    services: Services, clock: FrozenClock
) -> None:
    first = await seed(services)
    async with services.db.transaction() as conn:
        await conn.execute(sa.delete(oauth_clients).where(oauth_clients.c.id == first.client_id))
    second = await seed(services)
    assert second.client_id != first.client_id
    async with services.db.transaction(readonly=True) as conn:
        assert await get_client(conn, second.client_id) is not None
        assert await accounts.get_user_by_email(conn, DEMO_EMAIL) is not None


async def test_a_password_seeded_under_another_secret_is_not_shown_wrong(
    services: Services, settings: Settings, clock: FrozenClock
) -> None:
    await seed(services)
    other = Settings(
        database_url=settings.database_url,
        issuer=settings.issuer,
        secret_key="another-secret-0123456789abcdef0123456789",
    )
    rebuilt = Services.build(other, clock=clock)
    try:
        again = await seed(rebuilt)
    finally:
        await rebuilt.db.dispose()
    assert (again.created, again.password) == (False, None)
    text = welcome_text(again, settings.issuer)
    assert "Password  (not shown: it was set under another server secret;" in text
    assert demo_password(other, DEMO_EMAIL) not in text


async def test_welcome_text_has_the_login_and_a_working_authorize_link(
    services: Services,
) -> None:
    seeded = await seed(services)
    text = welcome_text(seeded, "http://127.0.0.1:8000")
    assert "Open      http://127.0.0.1:8000/\n" in text
    assert f"Sign in   {DEMO_EMAIL}\n" in text
    assert f"Password  {seeded.password}\n" in text
    link = next(word for word in text.split() if "/api/auth/mcp/authorize?" in word)
    parts = urlsplit(link)
    assert (parts.scheme, parts.netloc, parts.path) == (
        "http",
        "127.0.0.1:8000",
        "/api/auth/mcp/authorize",
    )
    query = {name: values[0] for name, values in parse_qs(parts.query).items()}
    verifier = text.split("code_verifier=")[1].split()[0]
    assert query == {
        "response_type": "code",
        "client_id": seeded.client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": DEMO_SCOPE,
        "state": query["state"],
        "code_challenge": s256_challenge(verifier),
        "code_challenge_method": "S256",
    }
    assert len(verifier) >= 43


def test_authorize_link_encodes_every_parameter() -> None:
    link = authorize_link("https://i18n.example", "cli_x", "v" * 43, "s&t")
    assert link.startswith("https://i18n.example/api/auth/mcp/authorize?response_type=code&")
    assert "state=s%26t" in link
    assert "scope=org%3Aread+projects%3Aread+keys%3Aread+keys%3Awrite+translations%3Awrite" in link
