"""Printing benchmark outcomes as plain tables (copied into docs/performance.md)."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence

from bench.scenarios import Outcome
from bench.soak import SoakOutcome
from bench.verify import VerifyOutcome

__all__ = ["machine", "print_outcome", "print_scale", "print_soak", "print_verify"]


def machine() -> str:
    model = "unknown CPU"
    try:
        with open("/proc/cpuinfo") as handle:
            model = next(
                line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")
            )
    except (OSError, StopIteration):
        pass
    return f"{os.cpu_count()} CPUs ({model}), Python {platform.python_version()}"


def _verdict(value: float, target: float, *, higher: bool = True) -> str:
    if not target:
        return ""
    met = value >= target if higher else value <= target
    return f"(target {'≥' if higher else '≤'} {target:g}: {'met' if met else 'MISSED'})"


def print_outcome(outcome: Outcome) -> None:
    scenario = outcome.scenario
    print()
    print(
        f"{scenario.title}: {outcome.database}, {outcome.workers} worker(s), "
        f"{outcome.connections} connections — {machine()}"
    )
    print("| phase | req/s | p50 ms | p99 ms | errors | server CPU µs/req | ratio to baseline |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for result in outcome.results:
        print(
            f"| {result.name} | {result.rate:.0f} | {result.p50_ms:.2f} | {result.p99_ms:.2f} | "
            f"{result.errors} | {result.server_cpu_us:.0f} | "
            f"{result.rate / outcome.baseline_rate:.2f} |"
        )
    print(f"ratio {outcome.ratio:.2f} {_verdict(outcome.ratio, scenario.target)}")
    paced = [result for result in outcome.results if result.name.endswith("at 50%")]
    for result in paced:
        print(
            f"p99 at 50 % of the maximum rate: {result.p99_ms:.2f} ms "
            f"{_verdict(result.p99_ms, 10, higher=False)}"
        )
    errors = sum(result.errors for result in outcome.results)
    print(
        f"error responses: {errors}; peak RSS {outcome.peak_rss_mib:.1f} MiB over "
        f"{outcome.processes} serving process(es)"
    )
    for check in outcome.checks:
        print(check)


def print_verify(outcome: VerifyOutcome) -> None:
    print()
    print(f"access-token verification, {outcome.iterations} iterations each — {machine()}")
    print(f"raw cryptography ES256:                       {outcome.raw_rate:9.0f}/s")
    print(f"services.tokens.verify, a new token each time: {outcome.cold_rate:9.0f}/s")
    print(f"services.tokens.verify, the same token again:  {outcome.warm_rate:9.0f}/s")
    print(f"ratio (new tokens) {outcome.ratio:.2f} {_verdict(outcome.ratio, 0.8)}")
    print(f"ratio (same token) {outcome.warm_ratio:.2f}")


def print_soak(outcome: SoakOutcome) -> None:
    first = outcome.chunks[0]
    last = outcome.chunks[-1]
    print()
    print(
        f"soak {outcome.scenario}: {last[0]} requests, {outcome.database}, "
        f"{outcome.workers} worker(s)"
    )
    print(
        f"RSS after {first[0]} requests: {first[2]:.1f} MiB; after {last[0]}: {last[2]:.1f} MiB; "
        f"growth {outcome.growth * 100:+.1f} % {_verdict(outcome.growth * 100, 10, higher=False)}"
    )
    errors = sum(result.errors for _, result, _ in outcome.chunks)
    print(f"error responses: {errors}; peak RSS {outcome.peak_rss_mib:.1f} MiB")


def print_scale(outcomes: Sequence[Outcome]) -> None:
    one, two = outcomes
    for outcome in outcomes:
        print_outcome(outcome)
    name = one.scenario.name
    speedup = two.result(name).rate / one.result(name).rate
    print()
    print(
        f"{one.scenario.title} on {one.database}: 1 worker {one.result(name).rate:.0f} req/s, "
        f"2 workers {two.result(name).rate:.0f} req/s: {speedup:.2f}x {_verdict(speedup, 1.6)}"
    )
