"""Rate limits at the edge (API.md: 429 with Retry-After), per client address and per partner.

Counted by the `limits` library in a moving window, in this gateway process's memory: each
gateway replica counts on its own, so a cluster of N replicas admits up to N times the rates.

- Every request counts against its client address (``RATE_LIMIT_REQUESTS``, generous: a
  hospital pushing its backlog from one address must not be slowed).
- A correctly signed request counts against its partner (the same rate); only answered
  requests count, so forged traffic cannot use up a partner's budget.
- A failed authentication (unknown partner, bad signature, bad or missing token) counts
  against the address and the partner named in the path (``RATE_LIMIT_FAILURES``, strict).
  Past it, failures are answered 429 instead of 401. A correctly signed request from the same
  address still passes: one misconfigured sender, or a neighbour behind the same NAT, must
  not cut a hospital off.
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from shared.config import Settings
from shared.errors import ApiError


class RateLimited(ApiError):
    """A 429 whose answer carries ``Retry-After`` (whole seconds)."""

    def __init__(self, retry_after: int, message: str):
        super().__init__(429, "rate_limited", message)
        self.retry_after = retry_after


class Throttle:
    def __init__(self, settings: Settings):
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.requests = parse(settings.rate_limit_requests)
        self.failures = parse(settings.rate_limit_failures)

    def admit(self, address: str, partner: str | None) -> None:
        """Before any work: the address has requests left, and the partner signed requests."""
        if not self.limiter.hit(self.requests, "address", address):
            raise self._limited(self.requests, ("address", address), "requests from your address")
        if partner is not None and not self.limiter.test(self.requests, "partner", partner):
            raise self._limited(self.requests, ("partner", partner), f"requests for {partner}")

    def answered(self, partner: str) -> None:
        """A correctly signed request of ``partner`` was answered."""
        self.limiter.hit(self.requests, "partner", partner)

    def failed(self, address: str, partner: str | None) -> RateLimited | None:
        """Count a failed authentication; the 429 to answer instead of 401 once past the rate."""
        if not self.limiter.hit(self.failures, "failed-address", address):
            return self._limited(
                self.failures, ("failed-address", address), "failed authentications"
            )
        if partner is not None and not self.limiter.hit(self.failures, "failed-partner", partner):
            return self._limited(
                self.failures, ("failed-partner", partner), f"failed authentications for {partner}"
            )
        return None

    def _limited(self, item: RateLimitItem, key: tuple[str, str], what: str) -> RateLimited:
        reset_at = self.limiter.get_window_stats(item, *key).reset_time
        retry_after = max(1, math.ceil(reset_at - time.time()))
        return RateLimited(retry_after, f"Too many {what}: at most {item}; retry later.")
