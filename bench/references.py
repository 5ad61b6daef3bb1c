"""The references that every scenario is compared with, started in the same run: the bare
Starlette app (``reference_app.py``, the framework's floor) and node's ``oidc-provider``
issuing ES256 JWT access tokens for ``client_credentials`` (``node/server.mjs``, the peer);
the tools they need (wrk, node and the peer's locked packages); and the CPU pinning that
puts every server on one core and wrk on another."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from bench.seed import Line, form_line
from bench.server import START_TIMEOUT_S, Server, free_port, running_process

__all__ = [
    "NODE_DIR",
    "PEER_TOKEN_REQUEST",
    "Pinning",
    "References",
    "ensure_tools",
    "peer_lines",
    "pinning",
    "running_references",
]

NODE_DIR = Path(__file__).with_name("node")
PEER_TOKEN_REQUEST = {
    "grant_type": "client_credentials",
    "client_id": "bench-client",
    "client_secret": "bench-secret",
    "scope": "org:read",
    "resource": "urn:i18n-connect:bench",
}


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def _apt_install(package: str) -> bool:
    """Install a Debian package when running as root with apt-get; False otherwise."""
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        return False
    _say(f"installing Debian's {package} (apt-get install -y {package}) ...")
    subprocess.run(["apt-get", "update", "-qq"], stdout=subprocess.DEVNULL, check=False)
    done = subprocess.run(
        ["apt-get", "install", "-y", "-qq", package], stdout=subprocess.DEVNULL, check=False
    )
    return done.returncode == 0 and shutil.which(package) is not None


def ensure_tools() -> None:
    """wrk, node and the peer's packages (``npm ci`` from the committed lock), or a clear exit."""
    if shutil.which("wrk") is None and not _apt_install("wrk"):
        raise SystemExit("the benchmarks need wrk: run 'sudo apt-get install -y wrk'")
    if shutil.which("node") is None:
        raise SystemExit(
            "the benchmarks' peer needs Node.js 20.19 or newer: "
            "run 'sudo apt-get install -y nodejs npm'"
        )
    if not (NODE_DIR / "node_modules" / "oidc-provider").is_dir():
        if shutil.which("npm") is None:
            raise SystemExit("the peer's packages need npm: run 'sudo apt-get install -y npm'")
        _say("installing the peer's packages (npm ci in bench/node) ...")
        subprocess.run(
            ["npm", "ci", "--silent", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True
        )


@dataclass(frozen=True)
class Pinning:
    """Command prefixes that pin the servers to one core and wrk to another (empty: unpinned)."""

    server: tuple[str, ...] = ()
    client: tuple[str, ...] = ()
    note: str = "not pinned"


def pinning(workers: int) -> Pinning:
    """Servers on the first allowed CPU and wrk on the second, with one worker and taskset;
    several workers need the cores they can get, so nothing is pinned then."""
    cpus = sorted(os.sched_getaffinity(0))
    if workers > 1:
        return Pinning(note=f"not pinned ({workers} workers)")
    if len(cpus) < 2 or shutil.which("taskset") is None:
        return Pinning(note="not pinned (needs 2 CPUs and taskset)")
    server, client = cpus[0], cpus[1]
    return Pinning(
        server=("taskset", "-c", str(server)),
        client=("taskset", "-c", str(client)),
        note=f"servers on CPU {server}, wrk on CPU {client}",
    )


@dataclass
class References:
    starlette: Server
    node: Server


@contextmanager
def running_references(
    organizations_by_token: dict[str, dict[str, str]],
    *,
    log_dir: Path,
    pin: Pinning,
    floors: Path | None = None,
    start_timeout: float = START_TIMEOUT_S,
) -> Iterator[References]:
    """Start the Starlette reference (serving the Python floors too when given their
    directory, ``bench/floors.py``) and the node peer on loopback; stop both afterwards."""
    tokens = log_dir / "reference-tokens.json"
    tokens.write_text(json.dumps(organizations_by_token))
    starlette_port, node_port = free_port(), free_port()
    node_env = {**os.environ, "NODE_ENV": "production"}
    with ExitStack() as stack:
        starlette = stack.enter_context(
            running_process(
                [
                    *pin.server,
                    sys.executable,
                    "-m",
                    "bench.reference_app",
                    str(starlette_port),
                    str(tokens),
                    *([str(floors)] if floors is not None else []),
                ],
                port=starlette_port,
                ready_path="/readyz",
                log_path=log_dir / f"starlette-reference-{starlette_port}.log",
                cwd=Path(__file__).parent.parent,
                start_timeout=start_timeout,
            )
        )
        node = stack.enter_context(
            running_process(
                [*pin.server, "node", "server.mjs", str(node_port)],
                port=node_port,
                ready_path="/.well-known/openid-configuration",
                log_path=log_dir / f"node-oidc-provider-{node_port}.log",
                env=node_env,
                cwd=NODE_DIR,
                start_timeout=start_timeout,
            )
        )
        yield References(starlette=starlette, node=node)


def peer_lines() -> list[Line]:
    """The peer's token request: client_credentials for the one resource (RFC 8707)."""
    return [form_line("/token", PEER_TOKEN_REQUEST) for _ in range(100)]
