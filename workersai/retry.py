"""Retry policy for Workers AI calls, built on tenacity.

Only errors whose class says ``retryable`` are retried (capacity 3040, rate limit 3021/429, timeouts,
5xx, dropped connections); the daily quota (3036), conflicts (409) and input errors are raised at once.
The wait is exponential with jitter; a server's ``Retry-After`` can only lengthen it (up to
``max_retry_after``), never shorten it: a ``Retry-After`` of 0, a negative one or one that is not a
number leaves the backoff as it is, so retries never fire at once. Attempts and total time are both
bounded, and so is a call given a deadline (:mod:`workersai.deadline`): a retry whose wait would end
past it is not made, and :class:`~workersai.errors.DeadlineExceeded` is raised instead. The error
finally raised carries ``attempts``.

Who retries: the client retries by its ``max_retries`` (3 by default). The wrappers that own a retry
budget (``with_workersai_retry``, fallbacks in the core and the adapters) turn the retries of the models
inside them off, so the attempts asked for are the attempts sent.

Each retry is logged at WARNING on the ``workersai`` logger: the error's class, status, Cloudflare code,
which attempt failed and how long the wait is (never the request, so never the token).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from .errors import APIConnectionError, DeadlineExceeded, RateLimited, WorkersAIError

if TYPE_CHECKING:  # tenacity is imported by the first call through a policy, not with the package
    from tenacity import RetryCallState

    from .deadline import Deadline

T = TypeVar("T")

logger = logging.getLogger("workersai")


def log_retry(state: RetryCallState) -> None:
    """Log one coming retry at WARNING: what failed, with which code, and the wait before the next try."""
    exc = state.outcome.exception() if state.outcome else None
    wait = state.next_action.sleep if state.next_action else 0.0
    what = type(exc).__name__ if exc is not None else "error"
    status = getattr(exc, "status", None)
    code = getattr(exc, "code", None)
    logger.warning(
        "Workers AI call failed with %s (status=%s, code=%s) on attempt %d; retrying in %.2f s",
        what,
        status,
        code,
        state.attempt_number,
        wait,
    )


def is_retryable(exc: BaseException) -> bool:
    """True for errors worth another attempt."""
    return isinstance(exc, WorkersAIError) and exc.retryable


def is_unsent(exc: BaseException) -> bool:
    """True for errors that prove the service did not act on the request: a 429 (rate limited, or
    3040 out of capacity: refused before the work) or a connection that could not be made."""
    if isinstance(exc, RateLimited):
        return exc.retryable
    return isinstance(exc, APIConnectionError) and not exc.request_sent


@contextmanager
def _noting_lost_answers(lost: list[bool]) -> Iterator[None]:
    """Marks an attempt's error with whether an earlier attempt may have been carried out
    (:attr:`~workersai.errors.WorkersAIError.after_lost_answer`), then notes whether this one may have."""
    try:
        yield
    except WorkersAIError as exc:
        exc.after_lost_answer = lost[0]
        # A 5xx that names a Cloudflare error code is the service's answer about this request (D1 has
        # sent its taken-name code 7502 as an "Internal error"), not a lost one.
        lost[0] = lost[0] or (is_retryable(exc) and not is_unsent(exc) and exc.code is None)
        raise


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry.

    ``max_retries`` is the number of retries after the first attempt (0 disables retrying).
    """

    max_retries: int = 3
    initial_backoff: float = 0.5
    max_backoff: float = 8.0
    jitter: float = 0.5
    max_retry_after: float = 60.0
    max_total: float = 120.0
    sleep: Callable[[float], None] | None = field(default=None, compare=False)
    """Replaces ``time.sleep`` between attempts (tests record the waits with it)."""
    async_sleep: Callable[[float], Awaitable[None]] | None = field(default=None, compare=False)
    """Replaces ``asyncio.sleep`` between async attempts."""
    clock: Callable[[], float] | None = field(default=None, compare=False)
    """Replaces ``time.monotonic`` for deadlines (tests move it by hand)."""

    def _wait(self, state: RetryCallState) -> float:
        from tenacity import wait_exponential, wait_random

        backoff = (
            wait_exponential(multiplier=self.initial_backoff, max=self.max_backoff)
            + wait_random(0, self.jitter)
        )(state)
        exc = state.outcome.exception() if state.outcome else None
        retry_after = getattr(exc, "retry_after", None)
        if isinstance(retry_after, (int, float)) and math.isfinite(retry_after):
            # The server may ask for a longer wait, never a shorter one (0, negative and NaN included).
            return float(max(backoff, min(retry_after, self.max_retry_after)))
        return float(backoff)

    def _kwargs(self, only_unsent: bool = False, deadline: Deadline | None = None) -> dict[str, object]:
        from tenacity import retry_if_exception, stop_after_attempt, stop_after_delay, stop_any
        from tenacity.stop import stop_base

        class past_deadline(stop_base):
            """The wait before the next attempt would end past the call's deadline."""

            def __call__(self, state: RetryCallState) -> bool:
                return deadline is not None and state.upcoming_sleep >= deadline.remaining()

        return {
            "stop": stop_any(
                stop_after_attempt(self.max_retries + 1), stop_after_delay(self.max_total), past_deadline()
            ),
            "wait": self._wait,
            "retry": retry_if_exception(is_unsent if only_unsent else is_retryable),
            "reraise": True,
            "before_sleep": log_retry,
        }

    def _final(
        self, exc: WorkersAIError, attempts: int, only_unsent: bool, deadline: Deadline | None
    ) -> WorkersAIError:
        """The error to raise after ``attempts``: ``exc``, or :class:`DeadlineExceeded` when it was
        the deadline, not the error or the attempt bound, that stopped the retries."""
        exc.attempts = attempts
        worth_another = is_unsent(exc) if only_unsent else is_retryable(exc)
        if deadline is None or isinstance(exc, DeadlineExceeded) or not worth_another:
            return exc
        if attempts > self.max_retries:
            return exc
        late = DeadlineExceeded(
            f"the deadline of {deadline.seconds:g} s left no time for another attempt after {attempts} "
            f"(last: {type(exc).__name__}: {exc})"
        )
        late.attempts = attempts
        return late

    def call(self, fn: Callable[[], T], *, only_unsent: bool = False, deadline: Deadline | None = None) -> T:
        """Run ``fn`` with retries; the error raised at the end has ``attempts`` set. ``only_unsent``
        retries only errors that prove the request was not acted on (:func:`is_unsent`); ``deadline``
        stops retrying once the next wait would end past it."""
        from tenacity import Retrying

        attempts, lost = 0, [False]

        def counted() -> T:
            nonlocal attempts
            attempts += 1
            with _noting_lost_answers(lost):
                return fn()

        try:
            extra = {"sleep": self.sleep} if self.sleep is not None else {}
            return Retrying(**self._kwargs(only_unsent, deadline), **extra)(counted)  # type: ignore[arg-type]
        except WorkersAIError as exc:
            final = self._final(exc, attempts, only_unsent, deadline)
            if final is exc:
                raise
            raise final from exc

    async def acall(
        self, fn: Callable[[], Awaitable[T]], *, only_unsent: bool = False, deadline: Deadline | None = None
    ) -> T:
        """Async twin of :meth:`call`."""
        from tenacity import AsyncRetrying

        attempts, lost = 0, [False]

        async def counted() -> T:
            nonlocal attempts
            attempts += 1
            with _noting_lost_answers(lost):
                return await fn()

        try:
            extra = {"sleep": self.async_sleep} if self.async_sleep is not None else {}
            retrying = AsyncRetrying(**self._kwargs(only_unsent, deadline), **extra)  # type: ignore[arg-type]
            return await retrying(counted)
        except WorkersAIError as exc:
            final = self._final(exc, attempts, only_unsent, deadline)
            if final is exc:
                raise
            raise final from exc
