"""Pacing: requests to each model sent below the service's rate limit instead of sent and retried.

Workers AI limits requests per minute per model (text generation 300, text embeddings 3000,
``@cf/baai/bge-large-en-v1.5`` 1500, ...: https://developers.cloudflare.com/workers-ai/platform/limits/)
and answers 429 (code 3021) past it. A :class:`Pacer` holds one token bucket per model, shared by every
thread and task of one client:

- its rate is the catalog's ``rate_per_minute`` (or :attr:`PacingPolicy.limits`) times ``headroom``, its
  burst a small share of a minute's limit, so that in any minute at most ``headroom + burst`` of the limit
  is sent (0.99 by default) while a sustained run goes at ``headroom`` (0.97) of it;
- a model the catalog does not know is not paced until a 429 teaches a rate: the rate it was sent at over
  the last minute, times ``backoff``;
- a 429 with code 3021 holds every request to that model until its ``Retry-After`` has passed. A lone
  refusal at a paced rate (none in the window before it) is taken for timing at a window's edge (a
  request that reached the service a little late or early), and only holds: lowering the rate for it
  would cost minutes of throughput for one request. A second refusal within a window means the limit
  is lower than the rate (shared with another client, or smaller than the catalog says): it lowers the
  rate by ``backoff`` (once per refusal episode). Each success wins back a share of the gap to the
  ceiling (a minute's worth of successes wins back about two thirds of it).

The bucket is a virtual schedule (GCRA): :meth:`Pacer.reserve` books the next free sending time under a
lock and returns how long the caller waits; the transport sleeps that long (``time.sleep`` in threads,
``asyncio.sleep`` in tasks, so the event loop is never blocked) and then sends.

Besides each model's bucket, every request of the client (any product, paced model or not) books a turn in
one more: the Cloudflare API's global budget (1,200 requests per 5 minutes per token:
https://developers.cloudflare.com/fundamentals/api/reference/limits/). Whether Workers AI and Vectorize
calls count toward it is not stated, so it is not assumed: the budget is known from
:attr:`PacingPolicy.api_quota` when given, and from the answers' headers when the service sends them
(:meth:`Pacer.observe`): ``Ratelimit-Policy: "default";q=1200;w=300`` sets its ceiling (``w / q`` per
request, at ``headroom``), ``Ratelimit: "default";r=50;t=30`` spreads the ``r`` requests left over the
``t`` seconds to the window's reset (none left: hold every request for ``t``). A refusal of the global
budget (429, code 971) holds every request for its ``Retry-After`` and never touches a model's rate.
"""

from __future__ import annotations

import math
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from .catalog import get_model

MINUTE_S = 60.0
API_RATE_LIMITED_CODE = 971
"""The Cloudflare API's code for a request refused by its global budget (429, "Please wait and consider
throttling your request speed"; cloudflare/terraform-provider-cloudflare#5505)."""
_ITEM_PARAM = re.compile(r";\s*([a-z]+)\s*=\s*(-?[0-9.]+)")


def parse_ratelimit_field(value: str | None) -> list[dict[str, float]]:
    """The items of a ``Ratelimit`` or ``Ratelimit-Policy`` header (``"default";r=50;t=30``, comma
    separated), each as its numeric parameters; malformed items are left out."""
    items: list[dict[str, float]] = []
    for item in (value or "").split(","):
        params = {key: float(number) for key, number in _ITEM_PARAM.findall(item)}
        if params:
            items.append(params)
    return items


@dataclass(frozen=True)
class PacingPolicy:
    """How a client paces its requests to each model.

    ``limits`` overrides the catalog's requests per minute per model (an account with raised limits);
    ``window_s`` and ``scale`` describe a service whose minute is shorter or whose limits are multiplied
    (``workersai-local --rate-limits --rate-window-s ... --rate-scale ...``).
    """

    limits: Mapping[str, float] = field(default_factory=dict)
    window_s: float = MINUTE_S
    scale: float = 1.0
    headroom: float = 0.97
    """The sustained rate, as a share of the limit."""
    burst: float = 0.02
    """Requests sent at once before pacing starts, as a share of a window's limit (at least one)."""
    backoff: float = 0.8
    """What a 429 multiplies the rate by (and what a learned rate is of the rate that was refused)."""
    floor: float = 0.05
    """The lowest a model's rate goes, as a share of its ceiling."""
    api_quota: int | None = None
    """The global budget's requests per ``api_window_s`` when known up front (the Cloudflare API's:
    1200 per 300 s); None: known only from the service's ``Ratelimit`` headers."""
    api_window_s: float = 300.0

    def __post_init__(self) -> None:
        if not (self.window_s > 0 and self.scale > 0):
            raise ValueError("window_s and scale must be > 0")
        if not (0 < self.headroom <= 1 and 0 <= self.burst < 1 and 0 < self.backoff < 1):
            raise ValueError("headroom must be in (0, 1], burst in [0, 1), backoff in (0, 1)")
        if (self.api_quota is not None and self.api_quota < 1) or not self.api_window_s > 0:
            raise ValueError("api_quota must be >= 1 and api_window_s > 0")

    def per_window(self, model: str) -> float | None:
        """The limit of ``model`` in requests per window, or None when unknown."""
        given = self.limits.get(model)
        if given is None:
            info = get_model(model)
            given = info.rate_per_minute if info is not None else None
        return None if given is None else given * self.scale


class _Bucket:
    """One model's schedule. ``interval`` is None while the model's rate is unknown."""

    def __init__(self, interval: float | None, burst: int) -> None:
        self.interval = interval
        self.ceiling = interval
        self.burst = burst
        self.next_at = 0.0  # the theoretical time of the next request at the steady rate
        self.held_until = 0.0
        self.refused_at = -math.inf  # when the last refusal episode began
        self.sends: deque[float] = deque()  # recent sending times, only while the rate is unknown


class Pacer:
    """Token buckets per model for one client, thread-safe; see the module's docstring."""

    def __init__(
        self, policy: PacingPolicy | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.policy = policy or PacingPolicy()
        self.clock = clock
        self._buckets: dict[str, _Bucket] = {}
        self._lock = threading.Lock()
        self.rate_limited_count = 0
        """429/3021 answers seen (each one also held the model for its ``Retry-After``)."""
        self.api_limited_count = 0
        """429/971 answers seen (the global budget; each held every request for its ``Retry-After``)."""
        self._api = _Bucket(None, 1)
        """The global budget's schedule; its ``interval`` is None while no budget is known."""
        if self.policy.api_quota is not None:
            self._set_api_ceiling(self.policy.api_quota, self.policy.api_window_s)

    def _set_api_ceiling(self, quota: float, window_s: float) -> None:
        interval = window_s / (quota * self.policy.headroom)
        api = self._api
        api.ceiling = interval
        api.burst = max(1, math.floor(quota * self.policy.burst))
        api.interval = max(interval, api.interval or 0.0)

    def observe(self, headers: Mapping[str, str]) -> None:
        """Read the global budget from an answer's ``Ratelimit-Policy`` and ``Ratelimit`` headers (see
        the module's docstring); an answer without them changes nothing."""
        policies = parse_ratelimit_field(headers.get("ratelimit-policy"))
        limits = parse_ratelimit_field(headers.get("ratelimit"))
        if not policies and not limits:
            return
        with self._lock:
            now = self.clock()
            for policy in policies:
                if policy.get("q", 0) >= 1 and policy.get("w", 0) > 0:
                    self._set_api_ceiling(policy["q"], policy["w"])
            api = self._api
            for limit in limits:
                remaining, reset = limit.get("r"), limit.get("t")
                if remaining is None or reset is None or reset < 0:
                    continue
                if remaining < 1:
                    api.held_until = max(api.held_until, now + reset)
                    continue
                # What is left, spread to the reset: no faster (nor in a larger burst) than it allows.
                spread = reset / (remaining * self.policy.headroom)
                api.interval = max(api.ceiling or 0.0, spread)
                api.burst = min(api.burst, max(1, math.floor(remaining * self.policy.burst)))

    def api_limited(self, retry_after: float | None) -> None:
        """A 429/971 (the global budget): hold every request for ``retry_after`` (else a second)."""
        with self._lock:
            self.api_limited_count += 1
            now = self.clock()
            self._api.held_until = max(self._api.held_until, now + (retry_after or 1.0))

    def _book_api(self, send_at: float) -> float:
        """The sending time, at or after ``send_at``, that the global budget allows; booked."""
        api = self._api
        send_at = max(send_at, api.held_until)
        if api.interval is not None:
            send_at = max(send_at, api.next_at - (api.burst - 1) * api.interval)
            api.next_at = max(api.next_at, send_at) + api.interval
        return send_at

    def _bucket(self, model: str) -> _Bucket:
        bucket = self._buckets.get(model)
        if bucket is None:
            limit = self.policy.per_window(model)
            if limit is None or limit <= 0:
                bucket = _Bucket(None, 1)
            else:
                interval = self.policy.window_s / (limit * self.policy.headroom)
                bucket = _Bucket(interval, max(1, math.floor(limit * self.policy.burst)))
            self._buckets[model] = bucket
        return bucket

    def rate(self, model: str) -> float | None:
        """Requests per second ``model`` is paced to now, or None while it is not paced."""
        with self._lock:
            interval = self._bucket(model).interval
        return None if interval is None else 1.0 / interval

    def reserve(self, model: str | None, *, hold: bool = True) -> float:
        """Book the next sending time for one request (to ``model``, or None for a request no model's
        limit applies to) in the model's bucket and the global budget; the seconds to wait before
        sending. ``hold=False``: the caller has waited out the model's ``Retry-After`` already (a
        retry); the global budget's hold applies either way."""
        with self._lock:
            now = self.clock()
            return self._book_api(self._book_model(model, now, hold)) - now

    def _book_model(self, model: str | None, now: float, hold: bool) -> float:
        if model is None:
            return now
        bucket = self._bucket(model)
        if bucket.interval is None:
            bucket.sends.append(now)
            while bucket.sends and bucket.sends[0] <= now - self.policy.window_s:
                bucket.sends.popleft()
            return max(now, bucket.held_until) if hold else now
        tolerance = (bucket.burst - 1) * bucket.interval
        send_at = max(now, bucket.next_at - tolerance, bucket.held_until if hold else now)
        bucket.next_at = max(bucket.next_at, send_at) + bucket.interval
        return send_at

    def rate_limited(self, model: str, retry_after: float | None) -> None:
        """A 429/3021 for ``model``: hold it for ``retry_after``; learn its rate if it had none, or lower
        it when this is the second refusal within a window (see the module's docstring)."""
        with self._lock:
            self.rate_limited_count += 1
            now = self.clock()
            bucket = self._bucket(model)
            new_episode = now >= bucket.held_until
            hold = retry_after if retry_after is not None else (bucket.interval or 1.0)
            bucket.held_until = max(bucket.held_until, now + hold)
            if not new_episode:
                return  # the same refusal seen by several requests counts once
            lone = now - bucket.refused_at > self.policy.window_s
            bucket.refused_at = now
            if bucket.interval is None:
                self._learn(bucket, now)
            elif not lone:
                assert bucket.ceiling is not None
                slowest = bucket.ceiling / self.policy.floor
                bucket.interval = min(slowest, bucket.interval / self.policy.backoff)

    def _learn(self, bucket: _Bucket, now: float) -> None:
        """The rate of an unknown model: what was sent over the last window, times ``backoff``."""
        sends = bucket.sends
        span = now - sends[0] if sends else 0.0
        if len(sends) < 2 or span <= 0:
            interval = bucket.held_until - now or 1.0
        else:
            interval = span / ((len(sends) - 1) * self.policy.backoff)
        bucket.interval = bucket.ceiling = interval
        bucket.burst = 1
        sends.clear()

    def succeeded(self, model: str) -> None:
        """A request to ``model`` was served: win back a share of the gap to its ceiling."""
        with self._lock:
            bucket = self._buckets.get(model)
            if bucket is None or bucket.interval is None or bucket.ceiling is None:
                return
            if bucket.interval > bucket.ceiling:
                per_window = self.policy.window_s / bucket.ceiling
                rate = 1 / bucket.interval + (1 / bucket.ceiling - 1 / bucket.interval) / per_window
                bucket.interval = max(bucket.ceiling, 1 / rate)
