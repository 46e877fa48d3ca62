"""Workers AI's per-model rate limits, in the service's terms (opt-in: ``workersai-local --rate-limits``).

The numbers: requests per minute per model, "default per task type, with some per-model limits"
(text generation 300, text embeddings 3000, ``@cf/baai/bge-large-en-v1.5`` 1500, ...), from
https://developers.cloudflare.com/workers-ai/platform/limits/ ; they are read from the bundled catalog
(``ModelInfo.rate_per_minute``, data only). A model without a stated limit is not limited.

The answer when a limit is passed: HTTP 429 with Cloudflare code 3021 and the message
``AiError: AiError: rate limiting: inference request per min rate reached``. The errors page
(https://developers.cloudflare.com/workers-ai/platform/errors/) lists 429 for 3036 and 3040 but not 3021;
status, code and message are those of the service's answers as reported in cloudflare/ai#657 (a stored
gateway answer: ``httpCode: 429, internalCode: 3021``, "rate limiting: inference request per min rate
reached") and as quoted from live bodies in public test fixtures. Whether the service sends
``Retry-After`` is not documented; the emulator sends it (the seconds until the model admits a request
again) so that clients can be tested against it.

The window: a sliding one. A model admits a request when fewer than its limit were admitted in the last
``window_s`` seconds (a log of admission times per model); refused requests are not counted. Cloudflare
does not document its window kind; a sliding window is the stricter reading (a fixed window would also
admit up to twice the limit across a boundary), so a client that passes it passes either.

``window_s`` shortens the minute and ``scale`` multiplies the limits (at least 1 request per window), so
that sustained behaviour shows in seconds. ``Retry-After`` is whole seconds (rounded up) for the real
minute, as RFC 9110's delta-seconds; with a shortened window it is fractional, scaled with it.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from ...catalog import get_model
from . import Rejected

RATE_LIMITED_STATUS = 429
RATE_LIMITED_CODE = 3021
RATE_LIMITED_MESSAGE = "AiError: AiError: rate limiting: inference request per min rate reached"


class RateLimitExceeded(Rejected):
    """429/3021, with the seconds until the model admits a request again (sent as ``Retry-After``)."""

    def __init__(self, retry_after: float, header: str) -> None:
        super().__init__(RATE_LIMITED_STATUS, RATE_LIMITED_CODE, RATE_LIMITED_MESSAGE)
        self.retry_after = retry_after
        self.headers = {"retry-after": header}


@dataclass
class RateLimits:
    """The per-model sliding windows of one emulator (used from its event loop only)."""

    window_s: float = 60.0
    scale: float = 1.0
    clock: Callable[[], float] = time.monotonic
    _admitted: dict[str, deque[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.window_s > 0:
            raise ValueError(f"rate window must be > 0 seconds, got {self.window_s}")
        if not self.scale > 0:
            raise ValueError(f"rate scale must be > 0, got {self.scale}")

    def limit(self, model: str) -> int | None:
        """Requests ``model`` admits per window, or None when the catalog states no limit for it."""
        info = get_model(model)
        if info is None or info.rate_per_minute is None:
            return None
        return max(1, math.floor(info.rate_per_minute * self.scale))

    def admit(self, model: str) -> None:
        """Count one request to ``model``; :class:`RateLimitExceeded` when its window is full."""
        limit = self.limit(model)
        if limit is None:
            return
        now = self.clock()
        log = self._admitted.setdefault(model, deque())
        while log and log[0] <= now - self.window_s:
            log.popleft()
        if len(log) < limit:
            log.append(now)
            return
        wait = max(0.0, log[0] + self.window_s - now)
        raise RateLimitExceeded(wait, self._header(wait))

    def _header(self, seconds: float) -> str:
        if self.window_s >= 60:
            return str(max(1, math.ceil(seconds)))
        return f"{max(seconds, 0.001):.3f}"
