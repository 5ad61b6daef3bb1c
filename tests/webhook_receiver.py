"""A webhook receiver for tests: a real HTTP server on 127.0.0.1 that records every request and
answers as the test says (a status, a redirect, a hang, a huge body), and notices when the same
``webhook-id`` arrives twice at once (imported by name: tests/ is on sys.path)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from standardwebhooks.webhooks import Webhook


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    port: int
    status: int = 204
    mode: str = "answer"  # answer | redirect | hang | huge
    hang_seconds: float = 0.0  # "answer" after this delay (the SIGKILL test's slow receiver)
    received: list[Received] = field(default_factory=list)
    overlapping: list[str] = field(default_factory=list)  # webhook-ids seen twice at once
    _in_flight: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def verified(self, secret: str) -> list[dict[str, Any]]:
        """Every body received, each verified with the standardwebhooks library."""
        return [Webhook(secret).verify(item.body, item.headers) for item in self.received]

    def wait_for(self, count: int, seconds: float = 10) -> list[Received]:
        deadline = time.monotonic() + seconds
        while len(self.received) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return list(self.received)


def _handler(receiver: Receiver) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            msg_id = self.headers.get("webhook-id", "")
            with receiver._lock:
                if msg_id in receiver._in_flight:
                    receiver.overlapping.append(msg_id)
                receiver._in_flight.add(msg_id)
            try:
                self._answer()
            finally:
                with receiver._lock:
                    receiver._in_flight.discard(msg_id)
                    receiver.received.append(Received(dict(self.headers.items()), body))

        def _answer(self) -> None:
            if receiver.mode == "hang":
                time.sleep(5)
                return
            time.sleep(receiver.hang_seconds)
            if receiver.mode == "redirect":
                self.send_response(307)
                self.send_header("Location", "http://127.0.0.1:9/elsewhere")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            if receiver.mode == "huge":
                self.send_response(200)
                self.send_header("Content-Length", str(50 * 1024 * 1024))
                self.end_headers()
                chunk = b"x" * 65536
                try:
                    for _ in range(800):
                        self.wfile.write(chunk)
                except OSError:
                    pass  # the sender stopped reading, as it should
                return
            self.send_response(receiver.status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

    return Handler


@contextmanager
def receiving(receiver: Receiver) -> Iterator[Receiver]:
    """Serve ``receiver`` on its port until the context ends."""
    server = ThreadingHTTPServer(("127.0.0.1", receiver.port), _handler(receiver))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
