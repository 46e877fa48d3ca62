"""A process-wide health record per model: a small circuit breaker for capacity and rate errors.

When a model answers ``threshold`` capacity (3040) or rate (3021/429) errors in a row (no answer between
them) within ``window`` seconds, its breaker opens: for ``cooldown`` seconds a call that has a fallback
goes straight to the fallback, without sending the model a request that would most likely be refused.
After the cool-down one call probes the model again (half-open): an answer closes the breaker, another
refusal opens it for a new cool-down. Calls without a fallback are never held back; they only feed the record.

Every state change is logged on the ``workersai`` logger (WARNING when a breaker opens, INFO when it
closes) and counted in the usage trackers active at the time (``ModelUsage.capacity_errors``,
``skipped``). The client's transport records each attempt's outcome; :func:`default_health` is the
record every client shares unless given its own (``WorkersAI(health=ModelHealth(...))``, as tests do
with an injected clock).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from .usage import record_event

logger = logging.getLogger("workersai")


@dataclass
class _Breaker:
    failures: deque[float] = field(default_factory=deque)
    opened_at: float | None = None
    probing: bool = False


class ModelHealth:
    """Per-model breakers; thread-safe. ``clock`` is ``time.monotonic`` unless a test injects one.

    The defaults (5 refusals in a row within 30 s, a 15 s cool-down) leave a model that refuses half
    its requests in use most of the time (5 in a row: about one run in 32) and cost a model that
    refuses everything one request per 15 s."""

    def __init__(
        self,
        threshold: int = 5,
        window: float = 30.0,
        cooldown: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if threshold < 1 or window <= 0 or cooldown <= 0:
            raise ValueError("threshold must be at least 1; window and cooldown positive")
        self.threshold, self.window, self.cooldown, self.clock = threshold, window, cooldown, clock
        self._lock = threading.Lock()
        self._models: dict[str, _Breaker] = {}

    def state(self, model: str) -> str:
        """``"closed"``, ``"open"`` (calls with a fallback skip it) or ``"half-open"`` (cool-down over:
        the next call probes it)."""
        with self._lock:
            b = self._models.get(model)
            if b is None or b.opened_at is None:
                return "closed"
            return "open" if self.clock() - b.opened_at < self.cooldown else "half-open"

    def allow(self, model: str) -> bool:
        """Whether a call that has a fallback should try ``model`` now. Once its cool-down is over, one
        caller at a time is let through to probe it."""
        with self._lock:
            b = self._models.get(model)
            if b is None or b.opened_at is None:
                return True
            if self.clock() - b.opened_at < self.cooldown or b.probing:
                allowed = False
            else:
                b.probing = True
                allowed = True
        if allowed:
            logger.info("Workers AI model %s: cool-down over, probing it with one call", model)
        else:
            record_event(model, "skipped")
        return allowed

    def failed(self, model: str) -> None:
        """Count one capacity or rate refusal of ``model``; open its breaker at the threshold (or at
        once when it was being probed)."""
        now = self.clock()
        record_event(model, "capacity_errors")
        with self._lock:
            b = self._models.setdefault(model, _Breaker())
            b.failures.append(now)
            while b.failures and now - b.failures[0] > self.window:
                b.failures.popleft()
            reopen = b.probing or (b.opened_at is None and len(b.failures) >= self.threshold)
            if reopen:
                b.opened_at, b.probing = now, False
                count = len(b.failures)
        if reopen:
            logger.warning(
                "Workers AI model %s: %d capacity/rate errors within %g s; calls that have a "
                "fallback skip it for %g s",
                model,
                count,
                self.window,
                self.cooldown,
            )

    def succeeded(self, model: str) -> None:
        """``model`` answered: its breaker closes and its failures are forgotten."""
        with self._lock:
            b = self._models.pop(model, None)
        if b is not None and b.opened_at is not None:
            logger.info("Workers AI model %s answered again: breaker closed", model)

    def aborted(self, model: str) -> None:
        """A probe that ended without an answer either way (bad input, a timeout): let another try."""
        with self._lock:
            b = self._models.get(model)
            if b is not None:
                b.probing = False


_default = ModelHealth()


def default_health() -> ModelHealth:
    """The record shared by every client of this process that was not given one."""
    return _default


def configure_health(threshold: int = 5, window: float = 30.0, cooldown: float = 15.0) -> ModelHealth:
    """Replace the process-wide record with one of these settings (every client not given its own
    record uses it from its next call)."""
    global _default
    _default = ModelHealth(threshold, window, cooldown)
    return _default
