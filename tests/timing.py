"""Time in tests: rules that depend on time run on a clock the test moves, and waits that are only
there for a busy machine are generous and set here, once.

A test never asserts on the wall clock: a 2-core machine shared with other work (CI, a neighbour's
build) runs a request in 1 ms or in 300 ms, so a rule of "N requests in 1 s" measured against
``time.monotonic`` passes or fails by the load, not by the code. The emulator (``LocalEmulator(clock=)``),
the client's pacer (``Pacer(clock=)``) and its retries (``RetryPolicy(sleep=, async_sleep=)``) all take
a :class:`FakeTime` instead.
"""

from __future__ import annotations

import threading

HTTP_TIMEOUT_S = 120.0
"""Every HTTP timeout a test sets on a client of the emulator (httpx's own default, 5 s, is reached by one
request on a loaded machine). Only a hung server ever waits this long."""

SUBPROCESS_TIMEOUT_S = 600.0
"""A child process a test runs (an example, the CLI): a bound on a hang, never on speed."""


class FakeTime:
    """A clock that only moves when told: by :meth:`advance`, or by the sleeps of a client given
    :meth:`sleep` / :meth:`asleep` (a client's sleep returns at once and moves the clock instead).

    Shared by threads (the emulator reads it on its event loop, a client's worker threads sleep on it):
    every move holds a lock. Concurrent sleeps add up (two threads each sleeping 1 s move it by 2 s),
    which only ever spreads requests further apart than the sleepers meant.
    """

    def __init__(self, start: float = 5000.0) -> None:
        self.now = start
        self._lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.now += seconds

    def sleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))

    async def asleep(self, seconds: float) -> None:
        self.advance(max(0.0, seconds))
