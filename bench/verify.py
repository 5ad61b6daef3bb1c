"""In-process access-token verification: ``services.tokens.verify`` (joserfc, header policy,
claims checks) against the raw ES256 signature check of ``cryptography`` on the same
tokens, in the same process, interleaved in rounds so that machine noise hits all alike.

Two service paths are measured: *cold* (every token is new to the verifier, so its
signature is checked: the path the target is about) and *warm* (one token presented
again and again, as a client does for 30 minutes: answered from the verifier's memory
of verified tokens).
"""

from __future__ import annotations

import asyncio
import base64
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

from bench.server import BENCH_SECRET
from i18n_connect.clock import SystemClock
from i18n_connect.services import Services
from i18n_connect.settings import Settings
from i18n_connect.storage.migrate import upgrade

__all__ = ["VerifyOutcome", "run_verify"]

_ROUNDS = 20


@dataclass(frozen=True)
class VerifyOutcome:
    iterations: int
    cold_rate: float  # services.tokens.verify, every token new to it (signature checked)
    warm_rate: float  # services.tokens.verify, one token again and again (remembered)
    raw_rate: float  # raw cryptography ES256 verifications per second

    @property
    def ratio(self) -> float:
        """The cold path against raw ES256: what the JOSE library and the checks cost."""
        return self.cold_rate / self.raw_rate

    @property
    def warm_ratio(self) -> float:
        return self.warm_rate / self.raw_rate


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def raw_verify(token: str, public_key: ec.EllipticCurvePublicKey) -> None:
    """What ES256 needs at least: split, decode, r||s to DER, ECDSA P-256/SHA-256 verify."""
    signing_input, _, signature_b64 = token.rpartition(".")
    signature = _b64(signature_b64)
    der = encode_dss_signature(
        int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    )
    public_key.verify(der, signing_input.encode("ascii"), ec.ECDSA(hashes.SHA256()))


async def _issue(services: Services, count: int) -> list[str]:
    tokens = []
    for index in range(count):
        issued = await services.tokens.issue(
            user_id=f"usr_bench{index}",
            client_id="cli_bench",
            scope=["org:read", "projects:read", "keys:read"],
            grant_ids=["grt_bench"],
            audience=services.settings.api_resource,
        )
        tokens.append(issued.token)
    return tokens


async def _measure(services: Services, iterations: int) -> VerifyOutcome:
    """Interleaved rounds: cold verifications, warm ones, raw ones, on the same tokens."""
    await services.keys.load()
    audience = services.settings.api_resource
    per_round = max(1, iterations // _ROUNDS)
    tokens = await _issue(services, per_round * _ROUNDS)
    key = (await services.keys.signing_key()).public.public_key
    assert isinstance(key, ec.EllipticCurvePublicKey)
    warm = tokens[0]
    await services.tokens.verify(warm, audience=audience)
    cold_time = warm_time = raw_time = 0.0
    for round_index in range(_ROUNDS):
        batch = tokens[round_index * per_round : (round_index + 1) * per_round]
        start = time.perf_counter()
        for token in batch:
            await services.tokens.verify(token, audience=audience)
        cold_time += time.perf_counter() - start
        start = time.perf_counter()
        for _ in batch:
            await services.tokens.verify(warm, audience=audience)
        warm_time += time.perf_counter() - start
        start = time.perf_counter()
        for token in batch:
            raw_verify(token, key)
        raw_time += time.perf_counter() - start
    total = per_round * _ROUNDS
    return VerifyOutcome(total, total / cold_time, total / warm_time, total / raw_time)


async def _measure_and_close(url: str, iterations: int) -> VerifyOutcome:
    settings = Settings(database_url=url, secret_key=BENCH_SECRET)
    services = Services.build(settings, clock=SystemClock())
    try:
        return await _measure(services, iterations)
    finally:
        await services.db.dispose()


def run_verify(iterations: int) -> VerifyOutcome:
    with tempfile.TemporaryDirectory(prefix="i18n-bench-") as directory:
        url = f"sqlite:///{Path(directory) / 'verify.db'}"
        upgrade(url)  # runs its own event loop
        return asyncio.run(_measure_and_close(url, iterations))
