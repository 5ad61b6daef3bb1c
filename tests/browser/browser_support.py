"""Types shared by the browser tests (imported by name: tests/browser is on sys.path)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from playwright.sync_api import Page

from i18n_connect.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:  # examples/ lives at the repository root, outside src/
    sys.path.insert(0, str(ROOT))

from examples.partner_app import Config  # noqa: E402

Screenshot = Callable[[Page, str], Path]
T = TypeVar("T")


def fits(page: Page, name: str, save_screenshot: Screenshot) -> None:
    """Save a screenshot, then assert no horizontal scrolling: the document fits the viewport."""
    save_screenshot(page, name)
    scroll_width, inner_width = page.evaluate(
        "[document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert scroll_width <= inner_width, f"{name}: {scroll_width} px wide in {inner_width} px"


def off_loop(function: Callable[..., T], *args: Any, timeout: float = 60) -> T:
    """Call ``function(*args)`` in a worker thread and wait for its result.

    Playwright's sync API keeps an event loop running in the test's thread, so
    anything that runs its own loop (migrations, async seeding) must run elsewhere.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(function, *args).result(timeout=timeout)


def run_async(coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
    """Run a coroutine to completion on its own loop, off the test's thread."""
    return off_loop(asyncio.run, coroutine, timeout=timeout)


@dataclass(frozen=True)
class LiveServer:
    url: str  # the issuer, e.g. http://127.0.0.1:43817
    settings: Settings
    email: str
    password: str

    @property
    def database_url(self) -> str:
        return self.settings.database_url


PARTNER_APP_NAME = "Example Partner App"
PARTNER_EMAIL = "dev@partner-app.test"
PARTNER_PASSWORD = "partner password"
PARTNER_SCOPES = (
    "org:read",
    "projects:read",
    "keys:read",
    "keys:write",
    "translations:write",
    "translations:publish",
)


@dataclass(frozen=True)
class PartnerApp:
    url: str
    config: Config
