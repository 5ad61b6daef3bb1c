"""Demo data for ``i18n-connect demo`` (SPEC §7): users, organizations, projects,
translations, a glossary, content, and a client for the example partner app.

Seeding happens once, in one transaction; a later run finds the demo user by
email and reuses everything. The demo password is never stored in plain text:
it is derived from the server secret (HMAC), so every run can print the same
password while the database holds only its argon2id hash. Should the secret have
changed since the seeding, the password is not shown rather than shown wrong.
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.oauth.clients import Client, create_client, get_client
from i18n_connect.oauth.pkce import s256_challenge
from i18n_connect.platform import accounts, content, glossary, keys, translations
from i18n_connect.platform import organizations as orgs
from i18n_connect.platform import projects as prj
from i18n_connect.services import Services
from i18n_connect.settings import Settings
from i18n_connect.storage.oauth_tables import oauth_clients

__all__ = [
    "CLIENT_NAME",
    "DEMO_EMAIL",
    "DEMO_SCOPE",
    "REDIRECT_URI",
    "DemoSeed",
    "authorize_link",
    "demo_password",
    "seed",
    "welcome_text",
]

DEMO_EMAIL = "demo@example.com"
COLLEAGUE_EMAIL = "lin@example.com"
CLIENT_NAME = "Example Partner App"
REDIRECT_URI = "http://127.0.0.1:8001/connect/callback"
DEMO_SCOPE = "org:read projects:read keys:read keys:write translations:write"
_STALE_LOGIN_NOTE = (
    "(not shown: it was set under another server secret; delete the database to seed afresh)"
)


@dataclass(frozen=True, slots=True)
class DemoSeed:
    email: str
    password: str | None  # None when the stored password was not derived from this secret
    client_id: str
    created: bool  # False when an earlier run had seeded the data


def demo_password(settings: Settings, email: str) -> str:
    """The demo account's password: 96 bits derived from the server secret, never stored."""
    digest = settings.derived_key(f"demo-password:{email}")
    return base64.urlsafe_b64encode(digest[:12]).decode()


async def seed(services: Services) -> DemoSeed:
    """Create the demo data unless the demo user exists; ensure the demo client exists."""
    password = demo_password(services.settings, DEMO_EMAIL)
    shown: str | None = password
    async with services.db.transaction() as conn:
        existing = await accounts.get_user_by_email(conn, DEMO_EMAIL)
        created = existing is None
        if created:
            await _seed_platform(conn, services, password)
        elif await accounts.authenticate(conn, DEMO_EMAIL, password) is None:
            shown = None  # seeded under another server secret
        client = await _demo_client(conn, services)
    return DemoSeed(email=DEMO_EMAIL, password=shown, client_id=client.id, created=created)


async def _seed_platform(conn: AsyncConnection, services: Services, password: str) -> None:
    now = services.clock.now()
    demo = await accounts.create_user(
        conn, email=DEMO_EMAIL, password=password, name="Demo User", now=now
    )
    lin = await accounts.create_user(
        conn,
        email=COLLEAGUE_EMAIL,
        password=demo_password(services.settings, COLLEAGUE_EMAIL),
        name="Lin Colleague",
        now=now,
    )
    acme = await orgs.create_organization(
        conn, slug="acme", name="Acme Corp", owner_user_id=demo.id, now=now
    )
    await orgs.add_member(conn, organization_id=acme.id, user_id=lin.id, role="admin", now=now)
    globex = await orgs.create_organization(
        conn, slug="globex", name="Globex", owner_user_id=lin.id, now=now
    )
    await orgs.add_member(conn, organization_id=globex.id, user_id=demo.id, role="admin", now=now)
    initech = await orgs.create_organization(
        conn, slug="initech", name="Initech", owner_user_id=lin.id, now=now
    )
    await orgs.add_member(conn, organization_id=initech.id, user_id=demo.id, role="member", now=now)

    web = await prj.create_project(
        conn,
        organization_id=acme.id,
        name="Acme Web App",
        slug="web-app",
        source_language="en",
        target_languages=("de", "fr", "ja"),
        now=now,
    )
    await _seed_web_app(conn, web.id, services)
    mobile = await prj.create_project(
        conn,
        organization_id=acme.id,
        name="Acme Mobile",
        slug="mobile",
        source_language="en",
        target_languages=("es", "pt-BR"),
        now=now,
    )
    await keys.create_keys(
        conn, mobile.id, {"onboarding.title": "First screen", "onboarding.skip": ""}, now
    )
    await translations.set_translations(
        conn,
        mobile.id,
        "en",
        {"onboarding.title": "Welcome aboard", "onboarding.skip": "Skip"},
        now,
    )
    await translations.publish_translations(conn, mobile.id, ["en"], now)
    docs = await prj.create_project(
        conn,
        organization_id=globex.id,
        name="Globex Docs",
        slug="docs",
        source_language="en",
        target_languages=("de", "nl"),
        now=now,
    )
    await keys.create_keys(conn, docs.id, {"docs.search": "Search box placeholder"}, now)
    await translations.set_translations(
        conn, docs.id, "en", {"docs.search": "Search the docs"}, now
    )
    await translations.set_translations(
        conn, docs.id, "nl", {"docs.search": "Zoek in de docs"}, now
    )
    await translations.publish_translations(conn, docs.id, None, now)
    await prj.create_project(
        conn,
        organization_id=initech.id,
        name="TPS Reports",
        slug="tps",
        source_language="en",
        target_languages=("fr",),
        now=now,
    )


async def _seed_web_app(conn: AsyncConnection, project_id: str, services: Services) -> None:
    """Keys with published and draft translations, a glossary term, and content entries."""
    now = services.clock.now()
    await keys.create_keys(
        conn,
        project_id,
        {
            "checkout.title": "Heading of the checkout page",
            "checkout.pay_button": "Primary button; keep it short",
            "nav.home": "Top navigation",
            "nav.settings": "Top navigation",
            "welcome.message": "Shown after sign-in; {name} is the user's first name",
        },
        now,
    )
    await translations.set_translations(
        conn,
        project_id,
        "en",
        {
            "checkout.title": "Checkout",
            "checkout.pay_button": "Pay now",
            "nav.home": "Home",
            "nav.settings": "Settings",
            "welcome.message": "Welcome back, {name}!",
        },
        now,
    )
    await translations.set_translations(
        conn,
        project_id,
        "de",
        {"checkout.title": "Kasse", "nav.home": "Startseite", "nav.settings": "Einstellungen"},
        now,
    )
    await translations.publish_translations(conn, project_id, ["en", "de"], now)
    await translations.set_translations(
        conn,
        project_id,
        "de",
        {"checkout.pay_button": "Jetzt bezahlen", "nav.settings": "Optionen"},
        now,
    )  # drafts not yet published: one new, one changed
    await translations.set_translations(
        conn, project_id, "fr", {"checkout.title": "Paiement", "nav.home": "Accueil"}, now
    )
    await glossary.save_terms(
        conn,
        project_id,
        [
            glossary.TermInput(
                term="Checkout",
                description="The page where the customer pays; never 'cash register'.",
                translations={"de": "Kasse", "fr": "Paiement", "ja": "チェックアウト"},
            )
        ],
        now,
    )
    await content.create_model(
        conn,
        project_id,
        slug="blog-post",
        name="Blog post",
        fields=[
            {"name": "title", "type": "text", "localized": True},
            {"name": "body", "type": "markdown", "localized": True},
            {"name": "featured", "type": "boolean", "localized": False},
        ],
        now=now,
    )
    await content.save_entry(
        conn,
        project_id,
        "blog-post",
        "hello-world",
        {
            "title": {"en": "Hello, world", "de": "Hallo, Welt"},
            "body": {"en": "Our **first** post.", "de": "Unser **erster** Beitrag."},
            "featured": True,
        },
        now,
    )
    await content.publish_entries(conn, project_id, "blog-post", ["hello-world"], now)
    await content.save_entry(
        conn,
        project_id,
        "blog-post",
        "roadmap-2027",
        {"title": {"en": "Roadmap 2027"}, "body": {"en": "Draft: what comes next."}},
        now,
    )


async def _demo_client(conn: AsyncConnection, services: Services) -> Client:
    """The example partner app's public client: the oldest one of that name, or a new one."""
    client_id = await conn.scalar(
        select(oauth_clients.c.id)
        .where(oauth_clients.c.name == CLIENT_NAME, oauth_clients.c.origin == "cli")
        .order_by(oauth_clients.c.created_at)
        .limit(1)
    )
    found = await get_client(conn, client_id) if client_id is not None else None
    if found is not None and REDIRECT_URI in found.redirect_uris:
        return found
    client, _ = await create_client(
        conn,
        name=CLIENT_NAME,
        redirect_uris=[REDIRECT_URI],
        confidential=False,
        now=services.clock.now(),
        hasher=services.hasher,
        origin="cli",
    )
    return client


def authorize_link(issuer: str, client_id: str, verifier: str, state: str) -> str:
    """The authorize URL of SPEC §3 for the demo client, with the S256 challenge of ``verifier``."""
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": REDIRECT_URI,
            "scope": DEMO_SCOPE,
            "state": state,
            "code_challenge": s256_challenge(verifier),
            "code_challenge_method": "S256",
        }
    )
    return f"{issuer}/api/auth/mcp/authorize?{query}"


def welcome_text(seeded: DemoSeed, issuer: str) -> str:
    """What the demo prints before serving: where to go, how to sign in, and a first flow."""
    verifier = secrets.token_urlsafe(48)
    state = secrets.token_urlsafe(12)
    reused = "" if seeded.created else " (reusing the demo data of an earlier run)"
    return "\n".join(
        [
            f"i18n-connect demo{reused}",
            "",
            f"  Open      {issuer}/",
            f"  Sign in   {seeded.email}",
            f"  Password  {seeded.password or _STALE_LOGIN_NOTE}",
            f"  Client    {seeded.client_id}  ({CLIENT_NAME}, redirect {REDIRECT_URI})",
            "",
            "Connect the example partner app (OAuth 2.0 authorization code + PKCE):",
            f"  1. open   {authorize_link(issuer, seeded.client_id, verifier, state)}",
            f"  2. after 'Continue to your app', copy code=… from the address bar ({REDIRECT_URI};",
            "     the example partner app, if it answers there, does not know this link's state",
            "     and says so, but the code still works)",
            "  3. exchange it:",
            f"     curl -s {issuer}/api/auth/mcp/token -d grant_type=authorization_code \\",
            f"       -d client_id={seeded.client_id} -d code_verifier={verifier} \\",
            f"       --data-urlencode redirect_uri={REDIRECT_URI} -d code=CODE",
            "",
        ]
    )
