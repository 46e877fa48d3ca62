"""Model fallback, shared by the LangChain and LlamaIndex adapters.

A call moves to the next model only for errors another model may not have: capacity (3040), rate
limits (3021/429), the daily quota (3036), an unknown model, server errors, timeouts and dropped
connections. Bad input is never a reason to fall back: every model would refuse it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from .errors import (
    APIConnectionError,
    DailyQuotaExceeded,
    ModelNotFound,
    RateLimited,
    RequestTimeout,
    ServerError,
)

T = TypeVar("T")

FALLBACK_ERRORS: tuple[type[Exception], ...] = (
    RateLimited,  # includes CapacityExceeded (3040)
    DailyQuotaExceeded,
    ModelNotFound,
    ServerError,
    RequestTimeout,
    APIConnectionError,
)


def call_with_fallbacks(models: Sequence[str], call: Callable[[str], T]) -> T:
    """``call(model)`` for each model in turn until one succeeds; the last error is raised."""
    if not models:
        raise ValueError("no models to try")
    for model in models[:-1]:
        try:
            return call(model)
        except FALLBACK_ERRORS:
            continue
    return call(models[-1])


async def acall_with_fallbacks(models: Sequence[str], call: Callable[[str], Awaitable[T]]) -> T:
    """Async twin of :func:`call_with_fallbacks`."""
    if not models:
        raise ValueError("no models to try")
    for model in models[:-1]:
        try:
            return await call(model)
        except FALLBACK_ERRORS:
            continue
    return await call(models[-1])
