"""The partner REST API (SPEC §4) under ``/api/oauth-client``: installation tokens, grants,
organizations, projects, keys, translations and their files, glossary and content; the
app's webhooks."""

from fastapi import APIRouter

from i18n_connect.api import (
    installation_routes,
    resource_routes,
    transfer_routes,
    translation_routes,
    webhook_routes,
)

__all__ = ["router"]

router = APIRouter()
router.include_router(installation_routes.router)
router.include_router(resource_routes.router)
router.include_router(translation_routes.router)
router.include_router(transfer_routes.router)
router.include_router(webhook_routes.router)
