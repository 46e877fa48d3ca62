"""The Cloudflare API's own rate limit, in the service's terms (opt-in: ``workersai-local --api-rate-limit``).

The numbers (https://developers.cloudflare.com/fundamentals/api/reference/limits/, updated 2026-04-20):
1,200 requests per 5 minutes per user or account token, "cumulatively regardless of whether the request
is made via the dashboard, API key, or API token"; past it, "all API calls for the next five minutes will
be blocked, receiving a HTTP 429 response". 200 requests per second per IP is also stated; it is not
enforced here (one client on loopback).

The headers (same page, and the changelog of 2025-09-03, "the pattern developed by the IETF draft on rate
limiting"), returned on REST answers:

- ``Ratelimit: "default";r=50;t=30``: the limit's name, the remaining quota ``r`` and the seconds ``t``
  until the window resets;
- ``Ratelimit-Policy: "default";q=1200;w=300``: the policy's name, its quota ``q`` and window ``w``
  (the page's example names a ``"burst"`` policy; one policy is emulated, named as its limit);
- ``retry-after``: whole seconds, rounded up, until capacity is back; only on a refused request.

The refusal's body: code 971, "Please wait and consider throttling your request speed" (not on the
page; the API's answer as captured in public test fixtures and quoted in
cloudflare/terraform-provider-cloudflare#5505).

Whether Workers AI and Vectorize calls count toward this budget is not stated by Cloudflare (the page
names other APIs with their own limits: Cache Purge, GraphQL, Rulesets, Lists). When the limit is on, the
emulator counts every authenticated request on every product, the reading of the page's "cumulatively".

The window: a sliding log of admissions per token (the stricter reading: Cloudflare does not document
its window kind). Once the quota is spent, every request of that token is refused until ``block_s`` has
passed (the page's five minutes); refused requests are not counted. ``window_s``, ``quota`` and
``block_s`` may be made small to see the behaviour in tests; ``clock`` is injectable.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from . import Rejected

API_LIMITED_STATUS = 429
API_LIMITED_CODE = 971
API_LIMITED_MESSAGE = "Please wait and consider throttling your request speed"
POLICY_NAME = "default"


class ApiRateLimitExceeded(Rejected):
    """429/971 with ``Retry-After`` and the ``Ratelimit`` headers."""

    def __init__(self, headers: dict[str, str]) -> None:
        super().__init__(API_LIMITED_STATUS, API_LIMITED_CODE, API_LIMITED_MESSAGE)
        self.headers = headers


def _seconds(value: float) -> int:
    """Whole seconds, rounded up (as the page says of ``retry-after``; used for ``t`` too)."""
    return max(0, math.ceil(value - 1e-9))


@dataclass
class ApiRateLimit:
    """The global budget of one emulator, per token (used from its event loop only)."""

    quota: int = 1200
    window_s: float = 300.0
    block_s: float = 300.0
    clock: Callable[[], float] = time.monotonic
    _admitted: dict[str, deque[float]] = field(default_factory=dict)
    _blocked_until: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.quota < 1 or not self.window_s > 0 or self.block_s < 0:
            raise ValueError("quota must be >= 1, window_s > 0 and block_s >= 0")

    def policy(self) -> str:
        return f'"{POLICY_NAME}";q={self.quota};w={_seconds(self.window_s)}'

    def admit(self, token: str) -> dict[str, str]:
        """Count one request of ``token``: the ``Ratelimit`` headers of its answer, or
        :class:`ApiRateLimitExceeded` (with them and ``retry-after``) when the budget is spent."""
        now = self.clock()
        blocked = self._blocked_until.get(token, 0.0)
        if now < blocked:
            wait = _seconds(blocked - now)
            raise ApiRateLimitExceeded(self._headers(0, wait) | {"retry-after": str(max(1, wait))})
        log = self._admitted.setdefault(token, deque())
        while log and log[0] <= now - self.window_s:
            log.popleft()
        if len(log) >= self.quota:
            self._blocked_until[token] = now + self.block_s
            log.clear()  # the block replaces the window: once it is over, a new window begins
            wait = _seconds(self.block_s)
            raise ApiRateLimitExceeded(self._headers(0, wait) | {"retry-after": str(max(1, wait))})
        log.append(now)
        return self._headers(self.quota - len(log), _seconds(log[0] + self.window_s - now))

    def _headers(self, remaining: int, reset_s: int) -> dict[str, str]:
        return {
            "ratelimit": f'"{POLICY_NAME}";r={remaining};t={reset_s}',
            "ratelimit-policy": self.policy(),
        }
