"""Retry and model fallback for Workers AI runnables, and usage totals for LangChain code.

The budget rules, the same as the core's (:mod:`workersai.fallback`):

- The wrapper owns the retries. ``with_workersai_retry`` and ``with_model_fallbacks`` (and
  ``ChatWorkersAI.with_retry`` / ``.with_fallbacks``) turn off the retries of the Workers AI models they
  wrap, so ``max_retries=2`` means three requests, not twelve.
- A model that has a fallback is tried once, with ``rejectIfBusy``; a capacity or rate error moves to the
  fallback at once, and a model whose breaker is open (:mod:`workersai.health`) is skipped. Only the last
  model retries, as its own ``max_retries`` says.
- ``deadline=`` on a fallback chain's call (``chain.invoke(x, deadline=10)``) is one budget for every
  model it tries.

A wrapper around a whole chain (``(prompt | llm).with_retry()``) cannot see the model inside it, whose
own retries then multiply the wrapper's: build the model with ``max_retries=0`` there, or wrap the model
(``prompt | with_workersai_retry(llm)``).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar, cast

from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable, RunnableBinding, RunnableConfig
from langchain_core.runnables.fallbacks import RunnableWithFallbacks
from langchain_core.runnables.retry import RunnableRetry
from tenacity import AsyncRetrying, Retrying

from workersai import RetryPolicy, UsageTracker, track_usage
from workersai.deadline import Deadline, start
from workersai.fallback import FALLBACK_ERRORS
from workersai.health import ModelHealth, default_health
from workersai.retry import is_retryable
from workersai.settings import ClientSettings
from workersai.usage import record_event

Input = TypeVar("Input")
Output = TypeVar("Output")


def _settings(runnable: Runnable[Any, Any]) -> ClientSettings | None:
    """The Workers AI model a runnable is, or binds (``bind_tools``, ``bind``); None for a chain."""
    if isinstance(runnable, ClientSettings):
        return runnable
    if isinstance(runnable, RunnableBinding):
        return _settings(runnable.bound)
    return None


def without_retries(runnable: Runnable[Input, Output], **update: Any) -> Runnable[Input, Output]:
    """``runnable`` with its Workers AI model's own retries off (and ``update`` set on the model), for a
    wrapper that owns the retry budget. A chain is returned as it is: its model cannot be seen."""
    if isinstance(runnable, ClientSettings):
        return cast(Runnable[Input, Output], runnable.without_retries(**update))
    if isinstance(runnable, RunnableBinding) and _settings(runnable.bound) is not None:
        return runnable.model_copy(update={"bound": without_retries(runnable.bound, **update)})
    return runnable


class WorkersAIRetry(RunnableRetry[Input, Output]):
    """``Runnable.with_retry`` driven by a :class:`workersai.RetryPolicy`: only Workers AI's retryable
    errors, exponential backoff with jitter, ``Retry-After`` honoured (it can only lengthen a wait)."""

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
    connections) are retried by ``policy``; anything else is raised at once. The wrapper owns the
    budget: a Workers AI model (or a binding of one) is wrapped without its own retries, so
    ``policy.max_retries + 1`` requests are sent at most. A chain's model cannot be seen: give it
    ``max_retries=0``."""
    chosen = policy or RetryPolicy()
    return WorkersAIRetry(
        bound=without_retries(runnable),
        policy=chosen,
        retry_exception_types=(Exception,),
        max_attempt_number=chosen.max_retries + 1,
        wait_exponential_jitter=True,
    )


_skipped: ContextVar[list[str] | None] = ContextVar("workersai_skipped", default=None)


class WorkersAIFallbacks(RunnableWithFallbacks[Input, Output]):
    """``RunnableWithFallbacks`` under the budget rules: a runnable whose model's breaker is open is
    skipped while a later one remains, ``deadline=`` (seconds) is one budget shared by every model
    tried, and a chat answer's ``response_metadata`` gains ``fallbacks`` (models left before the one
    that answered) and ``attempts`` (requests sent, on every model tried)."""

    @property
    def runnables(self) -> Iterator[Runnable[Input, Output]]:
        every = [self.runnable, *self.fallbacks]
        skipped = _skipped.get()
        for i, runnable in enumerate(every):
            settings = _settings(runnable)
            if i < len(every) - 1 and settings is not None:
                health: ModelHealth = settings.workers_ai.health if settings else default_health()
                if not health.allow(settings.model):  # type: ignore[attr-defined]
                    if skipped is not None:
                        skipped.append(settings.model)  # type: ignore[attr-defined]
                    continue
            yield runnable

    def _models(self) -> list[str | None]:
        return [getattr(_settings(r), "model", None) for r in (self.runnable, *self.fallbacks)]

    def _mark(self, output: Any, skipped: Sequence[str]) -> Any:
        """Add ``fallbacks`` and ``attempts`` to a chat answer's (or last chunk's) metadata."""
        if not isinstance(output, BaseMessage):
            return output
        meta = output.response_metadata
        answered = meta.get("model_name")
        models = self._models()
        if answered is None or answered not in models:
            return output
        index = models.index(answered)
        for left in models[:index]:
            if left is not None and left not in skipped:
                record_event(left, "fallbacks")
        meta["fallbacks"] = index
        meta["attempts"] = int(meta.get("attempts") or 1) + index - len(skipped)
        return output

    def _budget(self, kwargs: dict[str, Any]) -> dict[str, Any]:
        """The call's ``deadline`` started once (on the first model's client's clock), so every model
        tried shares it."""
        if kwargs.get("deadline") is not None and not isinstance(kwargs["deadline"], Deadline):
            settings = _settings(self.runnable)
            clock = settings.workers_ai.transport.retry.clock if settings is not None else None
            kwargs["deadline"] = start(kwargs["deadline"], clock)
        return kwargs

    def invoke(self, input: Input, config: RunnableConfig | None = None, **kwargs: Any) -> Output:
        skipped: list[str] = []
        token = _skipped.set(skipped)
        try:
            out = super().invoke(input, config, **self._budget(kwargs))
        finally:
            _skipped.reset(token)
        return cast(Output, self._mark(out, skipped))

    async def ainvoke(self, input: Input, config: RunnableConfig | None = None, **kwargs: Any) -> Output:
        skipped: list[str] = []
        token = _skipped.set(skipped)
        try:
            out = await super().ainvoke(input, config, **self._budget(kwargs))
        finally:
            _skipped.reset(token)
        return cast(Output, self._mark(out, skipped))

    def batch(self, inputs: list[Input], config: Any = None, **kwargs: Any) -> list[Output]:
        """Each input through :meth:`invoke` (the breaker and metadata per input)."""
        return Runnable.batch(self, inputs, config, **kwargs)

    async def abatch(self, inputs: list[Input], config: Any = None, **kwargs: Any) -> list[Output]:
        """Async twin of :meth:`batch`."""
        return await Runnable.abatch(self, inputs, config, **kwargs)

    def stream(self, input: Input, config: RunnableConfig | None = None, **kwargs: Any) -> Iterator[Output]:
        skipped: list[str] = []
        _skipped.set(skipped)  # never reset here: a generator may resume in another context
        for chunk in super().stream(input, config, **self._budget(kwargs)):
            yield cast(Output, self._mark(chunk, skipped))

    async def astream(
        self, input: Input, config: RunnableConfig | None = None, **kwargs: Any
    ) -> AsyncIterator[Output]:
        skipped: list[str] = []
        _skipped.set(skipped)
        async for chunk in super().astream(input, config, **self._budget(kwargs)):
            yield cast(Output, self._mark(chunk, skipped))


def fallback_chain(
    primary: Runnable[Input, Output],
    fallbacks: Sequence[Runnable[Input, Output]],
    **kwargs: Any,
) -> WorkersAIFallbacks[Input, Output]:
    """The runnables as a :class:`WorkersAIFallbacks`: every Workers AI model that has a fallback
    without retries and with ``rejectIfBusy`` (unless its ``reject_if_busy`` is False); the last one
    as it is."""
    every = [primary, *fallbacks]
    owned: list[Runnable[Input, Output]] = []
    for runnable in every[:-1]:
        settings = _settings(runnable)
        busy = {} if settings is None or settings.reject_if_busy is False else {"reject_if_busy": True}
        owned.append(without_retries(runnable, **busy))
    owned.append(every[-1])
    kwargs.setdefault("exceptions_to_handle", FALLBACK_ERRORS)
    return WorkersAIFallbacks(runnable=owned[0], fallbacks=owned[1:], **kwargs)


def with_model_fallbacks(
    primary: Runnable[Input, Output], *fallbacks: Runnable[Input, Output]
) -> WorkersAIFallbacks[Input, Output]:
    """``primary`` falling back to ``fallbacks`` in turn, only for capacity, rate, quota, model, server
    and connection errors, never for bad input, under the budget rules above."""
    return fallback_chain(primary, fallbacks)


@contextmanager
def get_workersai_callback() -> Iterator[UsageTracker]:
    """Sum tokens and estimated neurons, per model, of every Workers AI call inside the block (and the
    capacity errors, fallbacks and breaker skips of each model)."""
    with track_usage() as usage:
        yield usage


__all__ = [
    "FALLBACK_ERRORS",
    "WorkersAIFallbacks",
    "WorkersAIRetry",
    "get_workersai_callback",
    "is_retryable",
    "with_model_fallbacks",
    "with_workersai_retry",
    "without_retries",
]
