"""Sign-in throttling (OWASP Authentication Cheat Sheet, "Login Throttling") in the shared
database counters, so every server process agrees.

Each attempt is counted before its password is checked, so parallel guesses cannot slip
past a limit, in three counters over ``login_failure_window_seconds``:

- per (account, address): past ``login_failures_per_window`` that address may not try that
  account again until the window ends (429) — guessing one account from one place;
- per address: past ``login_address_failures_per_window`` it may not try any account (429) —
  password spraying;
- per account, from anywhere: past ``login_account_failures_before_delay`` each further
  attempt on the account waits ``login_account_delay_seconds`` before its password is
  checked — distributed guessing is slowed down. The account itself is never refused: a
  lockout anyone can trigger would let anyone keep its owner out.

An attempt refused by the first two does not count against the account (its password was
never checked). A success forgets the (account, address) failures and takes the attempt
back from the two other counters.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.platform.accounts import normalize_email
from i18n_connect.services import Services
from i18n_connect.storage import counters

__all__ = ["LoginThrottle", "Verdict"]


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one counted attempt may do: wait ``retry_after`` seconds (refused), or go on
    after ``delay`` seconds."""

    retry_after: int | None = None
    delay: float = 0.0


@dataclass(frozen=True, slots=True)
class LoginThrottle:
    """The counters of one sign-in attempt; no key holds the email in clear."""

    pair_key: str
    address_key: str
    account_key: str
    services: Services

    @classmethod
    def of(cls, services: Services, *, email: str, address: str) -> LoginThrottle:
        account = normalize_email(email)
        return cls(
            pair_key="login:pair:" + services.hasher.hash(f"login-pair:{address}\n{account}")[:40],
            address_key=f"login:ip:{address}",
            account_key="login:email:" + services.hasher.hash("login-email:" + account)[:40],
            services=services,
        )

    async def count_attempt(self, conn: AsyncConnection, now: datetime) -> Verdict:
        """Count the attempt; refused when this address failed too often, slowed down when
        the account did."""
        settings = self.services.settings
        window = settings.login_failure_window_seconds
        limits = (
            (self.pair_key, settings.login_failures_per_window),
            (self.address_key, settings.login_address_failures_per_window),
        )
        waits = [
            wait
            for key, limit in limits
            if (wait := await counters.hit(conn, key, limit=limit, window=window, now=now))
            is not None
        ]
        if waits:
            return Verdict(retry_after=max(waits))
        over = await counters.hit(
            conn,
            self.account_key,
            limit=settings.login_account_failures_before_delay,
            window=window,
            now=now,
        )
        return Verdict(delay=settings.login_account_delay_seconds if over is not None else 0.0)

    async def succeeded(self, conn: AsyncConnection, now: datetime) -> None:
        """The attempt was no failure: forget this address's failures on the account."""
        window = self.services.settings.login_failure_window_seconds
        await counters.reset(conn, self.pair_key)
        await counters.undo(conn, self.address_key, window=window, now=now)
        await counters.undo(conn, self.account_key, window=window, now=now)
