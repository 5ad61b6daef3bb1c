"""In-process access-token verification: ``services.tokens.verify`` (joserfc, header policy,
claims checks) against the raw ES256 signature check of ``cryptography`` on the same token,
in the same process, interleaved in rounds so that machine noise hits both alike."""

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
    service_rate: float  # verifications per second through services.tokens.verify
    raw_rate: float  # raw cryptography ES256 verifications per second

    @property
    def ratio(self) -> float:
        return self.service_rate / self.raw_rate


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


async def _issue(services: Services) -> str:
    issued = await services.tokens.issue(
        user_id="usr_bench",
        client_id="cli_bench",
        scope=["org:read", "projects:read", "keys:read"],
        grant_ids=["grt_bench"],
        audience=services.settings.api_resource,
    )
    return issued.token


async def _measure(services: Services, iterations: int) -> VerifyOutcome:
    await services.keys.load()
    audience = services.settings.api_resource
    token = await _issue(services)
    key = (await services.keys.signing_key()).public.public_key
    assert isinstance(key, ec.EllipticCurvePublicKey)
    raw_verify(token, key)
    await services.tokens.verify(token, audience=audience)
    service_time = raw_time = 0.0
    per_round = max(1, iterations // _ROUNDS)
    for _ in range(_ROUNDS):
        start = time.perf_counter()
        for _ in range(per_round):
            await services.tokens.verify(token, audience=audience)
        service_time += time.perf_counter() - start
        start = time.perf_counter()
        for _ in range(per_round):
            raw_verify(token, key)
        raw_time += time.perf_counter() - start
    total = per_round * _ROUNDS
    return VerifyOutcome(total, total / service_time, total / raw_time)


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
