"""``i18n-connect demo`` serves the example partner app beside the server.

The app is ``examples/partner_app`` of a source checkout (it is not part of
the installed package); it runs on ``http://127.0.0.1:8001``, the host of the
demo client's redirect URI, in the same event loop as the server; Ctrl+C stops
both. Each server's log lines carry its name (`demo_logs`).
"""

from __future__ import annotations

import asyncio
import importlib
import signal
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI

from i18n_connect.app import create_app
from i18n_connect.demo_logs import SERVER, configure_demo_logging
from i18n_connect.settings import Settings

__all__ = [
    "PARTNER_APP_URL",
    "load_partner_app",
    "partner_app_for_demo",
    "port_is_free",
    "serve_demo",
    "serve_together",
]

PARTNER_APP_URL = "http://127.0.0.1:8001"
_PARTNER_HOST = "127.0.0.1"
_PARTNER_PORT = 8001


def load_partner_app(client_id: str, issuer: str, database: Path) -> Any | None:
    """The partner app (an ASGI app) for ``client_id``, or ``None`` outside a source checkout."""
    root = Path(__file__).resolve().parents[2]
    if not (root / "examples" / "partner_app" / "__init__.py").is_file():
        return None
    if str(root) not in sys.path:
        sys.path.insert(0, str(root))
    module = importlib.import_module("examples.partner_app")
    config = module.Config(
        client_id=client_id, issuer=issuer, public_url=PARTNER_APP_URL, database=database
    )
    return module.create_app(config)


def partner_app_for_demo(client_id: str, issuer: str, database: Path) -> tuple[Any | None, str]:
    """The partner app to serve (or ``None``) and the banner's lines about it."""
    if not port_is_free(_PARTNER_HOST, _PARTNER_PORT):
        return None, (
            f"The example partner app is not served: port {_PARTNER_PORT} on {_PARTNER_HOST}, "
            "the port of its redirect URI, is in use."
        )
    app = load_partner_app(client_id, issuer, database)
    if app is None:
        return None, (
            "The example partner app is not served: it comes with a source checkout "
            "(examples/partner_app), not with the installed package."
        )
    return app, "\n".join(
        [
            f"  Example partner app  {PARTNER_APP_URL}/",
            "    sign in there with any email and a password of 8+ characters, then click Connect",
            f"    its own data: {database}",
        ]
    )


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class _Server(uvicorn.Server):
    """A server whose signals are handled by ``serve_together`` (one handler for both), and
    whose log lines carry ``name``."""

    def __init__(self, config: uvicorn.Config, name: str = "demo") -> None:
        super().__init__(config)
        self.name = name

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        SERVER.set(self.name)  # this task's context, inherited by its connections
        await super().serve(sockets)

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def serve_together(*servers: uvicorn.Server) -> None:
    """Serve every server in this loop; SIGINT/SIGTERM stop them all (twice: at once)."""
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for server in servers:
            server.force_exit = server.should_exit
            server.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    try:
        await asyncio.gather(*(server.serve() for server in servers))
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _server_app() -> FastAPI:
    return create_app(Settings())


def serve_demo(host: str, port: int, partner_app: Any | None) -> None:
    """Serve i18n-connect on ``host:port`` and, when given, the partner app on 127.0.0.1:8001,
    with the demo's plain log lines."""
    configure_demo_logging(Settings().log_level)
    servers = [
        _Server(
            uvicorn.Config(
                _server_app,
                factory=True,
                host=host,
                port=port,
                proxy_headers=False,
                server_header=False,
                log_config=None,
            ),
            name="i18n-connect",
        )
    ]
    if partner_app is not None:
        servers.append(
            _Server(
                uvicorn.Config(
                    partner_app,
                    host=_PARTNER_HOST,
                    port=_PARTNER_PORT,
                    server_header=False,
                    log_config=None,
                ),
                name="partner-app",
            )
        )
    asyncio.run(serve_together(*servers))
