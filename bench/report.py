"""Printing benchmark outcomes as plain tables (copied into docs/performance.md)."""

from __future__ import annotations

import os
import platform
from collections.abc import Sequence

from bench.instructions import Count
from bench.scenarios import (
    BASELINE,
    NODE_PEER,
    PYTHON_FLOOR,
    STARLETTE_FORM,
    STARLETTE_READ,
    Outcome,
    Scenario,
)
from bench.soak import SoakOutcome
from bench.verify import VerifyOutcome
from bench.webhooks import WebhookOutcome

__all__ = [
    "machine",
    "print_instructions",
    "print_outcome",
    "print_scale",
    "print_soak",
    "print_verify",
    "print_webhooks",
]


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


_SERIES_TITLES = {
    STARLETTE_FORM: "Starlette form (reference: bare POST /bench/form)",
    STARLETTE_READ: "Starlette read (reference: bare bearer GET /organizations)",
    NODE_PEER: "node oidc-provider (peer: client_credentials, ES256 JWT)",
    PYTHON_FLOOR: "Python floor (reference: bench/floors.py, the same stored-state work only)",
    BASELINE: "baseline (product POST /bench/form)",
}


def print_outcome(outcome: Outcome) -> None:
    scenario = outcome.scenario
    print()
    print(
        f"{scenario.title}: {outcome.database}, {outcome.workers} worker(s), "
        f"{outcome.connections} connections, {outcome.rounds} round(s), {outcome.pinning} "
        f"— {machine()}"
    )
    print("| phase | req/s | p50 ms | p99 ms | errors | server CPU µs/req | ratio to baseline |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for result in outcome.results:
        print(
            f"| {result.name} | {result.rate:.0f} | {result.p50_ms:.2f} | {result.p99_ms:.2f} | "
            f"{result.errors} | {result.server_cpu_us:.0f} | "
            f"{result.rate / outcome.baseline_rate:.2f} |"
        )
    print()
    print("Medians over the rounds:")
    print("| series | req/s | p50 ms | p99 ms | errors | vs Starlette | vs node peer |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in outcome.series_names():
        to_starlette = outcome.ratio_to_counterpart(name)
        versus = "" if to_starlette is None else f"{to_starlette:.2f}"
        versus_node = "" if to_starlette is None else f"{outcome.ratio_to(name, NODE_PEER):.2f}"
        print(
            f"| {_SERIES_TITLES.get(name, name)} | {outcome.rate(name):.0f} | "
            f"{outcome.median(name, lambda result: result.p50_ms):.2f} | "
            f"{outcome.median(name, lambda result: result.p99_ms):.2f} | "
            f"{sum(result.errors for result in outcome.series(name))} | {versus} | {versus_node} |"
        )
    print(f"ratio {outcome.ratio:.2f} {_verdict(outcome.ratio, scenario.target)}")
    print(
        f"{scenario.name}: {outcome.ratio_to(scenario.name, scenario.counterpart):.2f}x "
        f"its bare Starlette counterpart ({scenario.counterpart}), "
        f"{outcome.ratio_to(scenario.name, NODE_PEER):.2f}x node's oidc-provider"
    )
    if scenario.floor:
        print(
            f"{scenario.name}: {outcome.ratio_to(scenario.name, PYTHON_FLOOR):.2f}x its Python "
            f"floor, which is {outcome.ratio_to(PYTHON_FLOOR, scenario.counterpart):.2f}x its "
            f"bare Starlette counterpart and {outcome.ratio_to(PYTHON_FLOOR, NODE_PEER):.2f}x "
            "node's oidc-provider"
        )
    paced = [result for result in outcome.results if result.name.endswith("at 50%")]
    for result in paced:
        print(
            f"p99 at 50 % of the maximum rate: {result.p99_ms:.2f} ms "
            f"{_verdict(result.p99_ms, 10, higher=False)}"
        )
    errors = sum(
        result.errors
        for name in (BASELINE, scenario.name, f"{scenario.name} at 50%")
        for result in outcome.series(name)
    )
    print(
        f"error responses of the product: {errors}; peak RSS {outcome.peak_rss_mib:.1f} MiB over "
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


def print_webhooks(outcome: WebhookOutcome) -> None:
    print()
    print(f"webhooks, {outcome.events} events, {outcome.database} — {machine()}")
    print(f"delivered to a receiver on 127.0.0.1:   {outcome.delivered_per_second:9.0f}/s")
    print(f"revoke transaction, no endpoint:        {outcome.revoke_ms_without:9.2f} ms")
    print(f"revoke transaction, endpoint subscribed: {outcome.revoke_ms_with:8.2f} ms")
    print(f"added by the outbox (median):           {outcome.outbox_ms:9.2f} ms")


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
    speedup = two.rate(name) / one.rate(name)
    print()
    print(
        f"{one.scenario.title} on {one.database}: 1 worker {one.rate(name):.0f} req/s, "
        f"2 workers {two.rate(name):.0f} req/s: {speedup:.2f}x {_verdict(speedup, 1.6)}"
    )


def print_instructions(scenario: Scenario, counts: Sequence[Count]) -> None:
    """Instructions per request and, for the product, the Starlette reference's count over its
    own (higher is better, as with rates). The node peer's count is shown without a ratio:
    a JIT's instructions and CPython's take different times, so only counts of the same
    interpreter compare."""
    per_request = {count.series: count.per_request for count in counts}

    def ratio(series: str, reference: str) -> str:
        mine, theirs = per_request.get(series), per_request.get(reference)
        return f"{theirs / mine:5.2f} x {reference}" if mine and theirs else ""

    print(f"\n{scenario.title}: instructions per request under callgrind, SQLite, one process")
    print(f"machine: {machine()}; user space only, whatever the machine's load")
    print(f"  {'series':<16} {'instructions':>14}  ratios (reference / product)")
    for count in counts:
        ratios = ""
        if count.series == BASELINE:
            ratios = ratio(BASELINE, STARLETTE_FORM)
        elif count.series == scenario.name:
            ratios = ratio(count.series, scenario.counterpart)
        errors = f"  errors {count.errors}" if count.errors else ""
        print(f"  {count.series:<16} {count.per_request:14,.0f}  {ratios}{errors}")
