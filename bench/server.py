"""Servers on free loopback ports as subprocesses (the product's ``i18n-connect serve`` and the
references), and the memory and CPU time of their processes read from ``/proc``."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.error import URLError
from urllib.request import urlopen

__all__ = [
    "BENCH_SECRET",
    "START_TIMEOUT_S",
    "Server",
    "free_port",
    "running_process",
    "running_server",
    "server_environment",
]

BENCH_SECRET = "bench-secret-0123456789abcdef0123456789abcdef"
_CLI = Path(sys.executable).with_name("i18n-connect")
START_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_environment(database_url: str, port: int, **extra: str) -> dict[str, str]:
    """The environment of a benchmark server: its database, secret, issuer and the baseline."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("I18N_CONNECT_")}
    env.update(
        I18N_CONNECT_DATABASE_URL=database_url,
        I18N_CONNECT_SECRET_KEY=BENCH_SECRET,
        I18N_CONNECT_ISSUER=f"http://127.0.0.1:{port}",
        I18N_CONNECT_BENCH="1",
        **extra,
    )
    return env


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == pid:
            found.append(int(entry))
    return found


def _status_kib(pid: int, field: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


@dataclass
class Server:
    """A running server: its base URL and processes."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def pids(self) -> list[int]:
        """The supervisor and every descendant (uvicorn workers, multiprocessing helpers)."""
        pids, frontier = [self.process.pid], [self.process.pid]
        while frontier:
            children = [child for pid in frontier for child in _children(pid)]
            pids += children
            frontier = children
        return pids

    def rss_mib(self) -> float:
        """The current resident memory of all server processes together."""
        return sum(_status_kib(pid, "VmRSS") for pid in self.pids()) / 1024

    def peak_rss_mib(self) -> float:
        """The high-water mark of resident memory, summed over the server processes."""
        return sum(_status_kib(pid, "VmHWM") for pid in self.pids()) / 1024

    def worker_pids(self) -> list[int]:
        """The processes that serve requests (the supervisor itself with one worker)."""
        children = [pid for pid in _children(self.process.pid) if _is_worker(pid)]
        return children or [self.process.pid]

    def cpu_seconds(self) -> float:
        """User + system CPU time consumed so far by all server processes."""
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / ticks


def _is_worker(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"multiprocessing.resource_tracker" not in cmdline


def _wait_ready(url: str, process: subprocess.Popen[bytes], log_path: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"{log_path.stem} exited with {process.returncode}:\n"
                + log_path.read_text()[-3000:]
            )
        try:
            with urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (URLError, OSError):
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{log_path.stem} did not become ready within {timeout:.0f} s")


@contextmanager
def running_process(
    command: Sequence[str],
    *,
    port: int,
    ready_path: str,
    log_path: Path,
    env: dict[str, str] | None = None,
    cwd: Path | None = None,
    start_timeout: float = START_TIMEOUT_S,
) -> Iterator[Server]:
    """Start a server on 127.0.0.1:``port``, wait until ``ready_path`` answers 200, stop it
    (SIGTERM, then SIGKILL of its process group) afterwards."""
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            list(command),
            env=env,
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(url=f"http://127.0.0.1:{port}", process=process, log_path=log_path)
    try:
        _wait_ready(server.url + ready_path, process, log_path, start_timeout)
        yield server
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=5)


@contextmanager
def running_server(
    database_url: str,
    *,
    workers: int = 1,
    log_dir: Path,
    port: int | None = None,
    env: dict[str, str] | None = None,
    pin: Sequence[str] = (),
    start_timeout: float = START_TIMEOUT_S,
) -> Iterator[Server]:
    """Start ``i18n-connect serve`` on 127.0.0.1 (behind the ``pin`` command prefix, e.g.
    ``taskset -c 0``), wait until ready, stop it afterwards."""
    port = port or free_port()
    command = [
        *pin,
        str(_CLI),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    with running_process(
        command,
        port=port,
        ready_path="/readyz",
        log_path=log_dir / f"i18n-connect-{port}.log",
        env=server_environment(database_url, port, **(env or {})),
        start_timeout=start_timeout,
    ) as server:
        yield server
