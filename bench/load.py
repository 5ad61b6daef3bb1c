"""Load from ``wrk`` with the feed script (``lua/feed.lua``): one phase, one result."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.seed import Line

__all__ = ["Phase", "Result", "run_phase", "write_feed"]

FEED_SCRIPT = Path(__file__).with_name("lua") / "feed.lua"
_MARKER = "BENCH_JSON "


@dataclass(frozen=True)
class Result:
    """What one wrk phase measured (latencies in milliseconds)."""

    name: str
    answered: int
    ok: int
    client_errors: int
    server_errors: int
    socket_errors: int
    timeouts: int
    window_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    statuses: str
    fed: int
    server_cpu_us: float = 0.0  # server CPU time (all processes) per answered request

    @property
    def rate(self) -> float:
        """Answered requests per second over the active window (first send to last answer)."""
        return self.answered / self.window_s if self.window_s > 0 else 0.0

    @property
    def errors(self) -> int:
        return self.client_errors + self.server_errors + self.socket_errors + self.timeouts


@dataclass(frozen=True)
class Phase:
    name: str
    feed: Path
    mode: str  # "once" or "cycle"
    duration_s: float
    connections: int
    threads: int = 1
    rate: float = 0.0  # requests/s in total; 0 = as fast as possible
    limit: int = 0  # total requests (cycle mode); 0 = until the duration ends


def write_feed(path: Path, lines: Sequence[Line]) -> Path:
    path.write_text("".join(line.render() + "\n" for line in lines))
    return path


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise SystemExit("wrk is not installed: run 'sudo apt-get install -y wrk'")
    return found


def run_phase(url: str, phase: Phase, *, pin: Sequence[str] = ()) -> Result:
    """Run wrk (behind the ``pin`` command prefix, e.g. ``taskset -c 1``) against ``url`` for
    one phase and parse the script's summary."""
    threads = max(1, min(phase.threads, phase.connections))
    done_prefix = phase.feed.with_name(phase.feed.name + ".done.")
    command = [
        *pin,
        wrk_binary(),
        f"-t{threads}",
        f"-c{phase.connections}",
        f"-d{max(1, round(phase.duration_s))}s",
        "--timeout",
        "10s",
        "-s",
        str(FEED_SCRIPT),
        url,
        "--",
        str(phase.feed),
        str(threads),
        phase.mode,
        f"{phase.rate:.3f}",
        str(phase.limit),
        str(done_prefix),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + phase.duration_s + 60
    while process.poll() is None:
        if len(list(done_prefix.parent.glob(done_prefix.name + "*"))) >= threads:
            process.send_signal(signal.SIGINT)  # every thread has its answers: stop waiting
            break
        if time.monotonic() > deadline:
            process.kill()
            break
        time.sleep(0.05)
    stdout, stderr = process.communicate(timeout=60)
    for marker in done_prefix.parent.glob(done_prefix.name + "*"):
        marker.unlink()
    summary = next((line for line in stdout.splitlines() if line.startswith(_MARKER)), None)
    if process.returncode != 0 or summary is None:
        raise RuntimeError(f"wrk failed ({process.returncode}): {stderr.strip()}")
    data = json.loads(summary[len(_MARKER) :])
    return Result(
        name=phase.name,
        answered=data["answered"],
        ok=data["ok"],
        client_errors=data["client_errors"],
        server_errors=data["server_errors"],
        socket_errors=data["socket_errors"],
        timeouts=data["timeouts"],
        window_s=data["window_s"],
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        statuses=data["statuses"].strip(),
        fed=data["fed"],
    )
