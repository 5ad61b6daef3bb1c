"""Composition: `create_app` builds the whole server from `Settings`, explicitly, in one place."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.middleware.errors import ServerErrorMiddleware
from starlette.routing import Route
from starlette.types import ASGIApp

from i18n_connect import __version__
from i18n_connect.api import idempotency, installation_routes, resource_routes
from i18n_connect.api import router as partner_api_router
from i18n_connect.api.metrics import GrantMetrics
from i18n_connect.clock import Clock
from i18n_connect.gc import periodic_collection
from i18n_connect.mcp.server import build_mcp
from i18n_connect.resources import ORGANIZATION_PATH
from i18n_connect.services import Services
from i18n_connect.settings import Settings
from i18n_connect.web import (
    api_docs,
    app_logos,
    authorize_routes,
    bench_routes,
    developer_app_actions,
    developer_console,
    device_routes,
    health,
    introspection_routes,
    oauth_routes,
    pages,
    registration_routes,
    resource_metadata,
)
from i18n_connect.web.cdn import router as cdn_router
from i18n_connect.web.connected_apps import router as connected_apps_router
from i18n_connect.web.connection_request_routes import router as connection_request_router
from i18n_connect.web.edge import Edge, EdgeLimits
from i18n_connect.web.errors import install_error_handlers
from i18n_connect.web.etags import document_conditional_gets
from i18n_connect.web.hot_routes import HotRoutes
from i18n_connect.web.observability import HttpMetrics, configure_logging, metrics_router
from i18n_connect.web.organization_audit import router as organization_audit_router
from i18n_connect.web.organization_policy import router as organization_policy_router
from i18n_connect.web.revocation_routes import router as revocation_router
from i18n_connect.web.templates import STATIC_DIR
from i18n_connect.web.trailing_slash import redirect_slashes_to_issuer
from i18n_connect.web.webhook_pages import router as webhook_pages_router
from i18n_connect.webhooks.worker import deliveries_running

__all__ = ["create_app"]


class _EdgeFirst(FastAPI):
    """FastAPI with `Edge` outermost, in place of Starlette's ``ServerErrorMiddleware``:
    the edge answers an unhandled exception as that layer did (``Edge.server_errors``),
    and every message passes one layer fewer."""

    def build_middleware_stack(self) -> ASGIApp:
        outermost = super().build_middleware_stack()
        assert isinstance(outermost, ServerErrorMiddleware), outermost
        edge = outermost.app
        assert isinstance(edge, Edge), edge  # the last middleware added, so the first inside
        edge.server_errors = outermost
        return edge


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """The server as an ASGI app; process-wide logging is left to the entry point."""
    services = Services.build(settings, clock=clock)

    mcp_endpoint, mcp_sessions = build_mcp(services)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await services.keys.load()  # parse (or create) the signing keys once, before serving
        async with (
            mcp_sessions.run(),
            periodic_collection(
                services.db, services.clock, interval_seconds=settings.gc_interval_seconds
            ),
            deliveries_running(services),
        ):
            yield
        await services.api_limiter.close()
        await services.db.dispose()

    app = _EdgeFirst(
        title="i18n-connect partner API",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,  # served from the package by web.api_docs, not from a CDN
        openapi_url="/openapi.json",
        redoc_url=None,
        redirect_slashes=False,  # done by redirect_slashes_to_issuer, from the issuer
    )
    app.router.default = redirect_slashes_to_issuer(app.router, settings.issuer)
    _document_idempotency(app)
    app.state.services = services
    app.state.grant_metrics = GrantMetrics(services.metrics)
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(api_docs.router)
    app.include_router(authorize_routes.router)
    app.include_router(device_routes.router)
    mcp_route = Route("/mcp", mcp_endpoint, methods=["POST"])
    mcp_organization_route = Route(ORGANIZATION_PATH + "{org_slug}", mcp_endpoint, methods=["POST"])
    hot_routes = [
        oauth_routes.token_route,
        mcp_route,
        mcp_organization_route,
        *resource_routes.hot_routes,
        installation_routes.mint_route,
    ]
    if settings.bench:
        hot_routes.append(bench_routes.form_route)
    app.include_router(oauth_routes.router)
    app.router.routes.append(oauth_routes.token_route)
    app.include_router(registration_routes.router)
    app.include_router(introspection_routes.router)
    app.include_router(resource_metadata.router)
    app.include_router(partner_api_router)
    app.include_router(revocation_router)
    app.include_router(cdn_router)
    app.include_router(connected_apps_router)
    app.include_router(organization_policy_router)
    app.include_router(connection_request_router)
    app.include_router(organization_audit_router)
    app.include_router(developer_console.router)
    app.include_router(developer_app_actions.router)
    app.include_router(app_logos.router)
    app.include_router(webhook_pages_router)
    app.router.routes += [mcp_route, mcp_organization_route]
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.include_router(metrics_router)
    app.include_router(pages.router)
    if settings.bench:
        app.router.routes.append(bench_routes.form_route)
    # inside the edge, so the body limits apply; of the hot routes only a declined mint reaches
    # it, and mint is excluded from it (its answer is a live credential)
    app.add_middleware(idempotency.IdempotencyMiddleware, services=services)
    document_conditional_gets(app, prefix="/api/oauth-client/")
    app.add_middleware(
        Edge,
        metrics=HttpMetrics(services.metrics),
        limits=EdgeLimits(
            max_bytes=settings.max_body_bytes,
            import_bytes=settings.max_import_bytes,
            body_seconds=settings.body_timeout_seconds,
            docs_path=api_docs.DOCS_PATH,
        ),
        hot_routes=HotRoutes(hot_routes, app.exception_handlers),
    )
    return app


def _document_idempotency(app: FastAPI) -> None:
    """The OpenAPI document with the ``Idempotency-Key`` of the partner API's writes."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        idempotency.document(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def app_from_environment() -> FastAPI:
    """The uvicorn factory of ``serve`` and ``demo``: JSON logs on stderr, then the app.

    Each worker process builds its own app. The objects that exist once it is built
    (about 190,000: modules, routes, models, schemas) live as long as the process, so
    they are moved out of the garbage collector's reach (`gc.freeze`): a full
    collection over them took about 110 ms, a pause that every request in flight
    waited out.
    """
    settings = Settings()
    configure_logging(settings.log_level)
    app = create_app(settings)
    gc.collect()
    gc.freeze()
    return app
