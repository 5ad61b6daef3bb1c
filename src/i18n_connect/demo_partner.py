"""``i18n-connect demo`` serves the example partner app beside the server.

The app is ``examples/partner_app`` of a source checkout (it is not part of
the installed package); it runs on ``http://127.0.0.1:8001``, the host of the
demo client's redirect URI, in the same event loop as the server; Ctrl+C stops
both.
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

__all__ = ["PARTNER_APP_URL", "load_partner_app", "port_is_free", "serve_demo", "serve_together"]

PARTNER_APP_URL = "http://127.0.0.1:8001"
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


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


class _Server(uvicorn.Server):
    """A server whose signals are handled by ``serve_together`` (one handler for both)."""

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


def serve_demo(host: str, port: int, partner_app: Any) -> None:
    """Serve i18n-connect on ``host:port`` and the partner app on 127.0.0.1:8001."""
    main = _Server(
        uvicorn.Config(
            "i18n_connect.app:app_from_environment",
            factory=True,
            host=host,
            port=port,
            proxy_headers=False,
            server_header=False,
            log_config=None,
        )
    )
    partner = _Server(
        uvicorn.Config(
            partner_app,
            host="127.0.0.1",
            port=_PARTNER_PORT,
            server_header=False,
            log_config=None,
        )
    )
    asyncio.run(serve_together(main, partner))
