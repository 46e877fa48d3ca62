"""Retry and model fallback for Workers AI runnables, and usage totals for LangChain code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from langchain_core.runnables import Runnable
from langchain_core.runnables.fallbacks import RunnableWithFallbacks
from langchain_core.runnables.retry import RunnableRetry
from tenacity import AsyncRetrying, Retrying

from workersai import RetryPolicy, UsageTracker, track_usage
from workersai.fallback import FALLBACK_ERRORS
from workersai.retry import is_retryable

Input = TypeVar("Input")
Output = TypeVar("Output")


class WorkersAIRetry(RunnableRetry[Input, Output]):
    """``Runnable.with_retry`` driven by a :class:`workersai.RetryPolicy`: only Workers AI's retryable
    errors, exponential backoff with jitter, ``Retry-After`` honoured."""

    policy: RetryPolicy = RetryPolicy()

    @property
    def _kwargs_retrying(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = dict(self.policy._kwargs())
        kwargs.pop("reraise", None)  # RunnableRetry passes reraise=True itself
        return kwargs

    def _sync_retrying(self, **kwargs: Any) -> Retrying:
        extra: dict[str, Any] = {"sleep": self.policy.sleep} if self.policy.sleep else {}
        return Retrying(**self._kwargs_retrying, **extra, **kwargs)

    def _async_retrying(self, **kwargs: Any) -> AsyncRetrying:
        extra: dict[str, Any] = {"sleep": self.policy.async_sleep} if self.policy.async_sleep else {}
        return AsyncRetrying(**self._kwargs_retrying, **extra, **kwargs)


def with_workersai_retry(
    runnable: Runnable[Input, Output], policy: RetryPolicy | None = None
) -> Runnable[Input, Output]:
    """Wrap ``runnable`` so Workers AI's retryable errors (3040, 3021, 429, 408, 5xx, dropped
    connections) are retried by ``policy``; anything else is raised at once."""
    chosen = policy or RetryPolicy()
    return WorkersAIRetry(
        bound=runnable,
        policy=chosen,
        retry_exception_types=(Exception,),
        max_attempt_number=chosen.max_retries + 1,
        wait_exponential_jitter=True,
    )


def with_model_fallbacks(
    primary: Runnable[Input, Output], *fallbacks: Runnable[Input, Output]
) -> RunnableWithFallbacks[Input, Output]:
    """``primary.with_fallbacks(fallbacks)`` that moves on only for capacity, rate, quota, model,
    server and connection errors, never for bad input."""
    return primary.with_fallbacks(list(fallbacks), exceptions_to_handle=FALLBACK_ERRORS)


@contextmanager
def get_workersai_callback() -> Iterator[UsageTracker]:
    """Sum tokens and estimated neurons, per model, of every Workers AI call inside the block."""
    with track_usage() as usage:
        yield usage


__all__ = [
    "FALLBACK_ERRORS",
    "WorkersAIRetry",
    "get_workersai_callback",
    "is_retryable",
    "with_model_fallbacks",
    "with_workersai_retry",
]
