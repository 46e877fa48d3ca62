"""Model fallback, shared by the core, the LangChain and the LlamaIndex adapters.

A call moves to the next model only for errors another model may not have: capacity (3040), rate
limits (3021/429), the daily quota (3036), an unknown model, server errors, timeouts and dropped
connections. Bad input is never a reason to fall back: every model would refuse it.

The budget rules (one owner of retries):

- A model that has a fallback is tried once, with ``options.rejectIfBusy`` (unless told otherwise), and
  without retries: a capacity or rate error moves to the fallback at once (``Retry-After`` is a reason
  to leave, not to wait).
- The last model of the chain retries as its client is configured: retrying the same model is for
  calls that have nowhere else to go.
- A model whose breaker is open (:mod:`workersai.health`) is skipped while a later model remains.
- A ``deadline`` is one budget for the whole chain: every model's attempts and waits come out of it.
- The answer says which model gave it, after how many attempts on it and how many models were left.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from .deadline import DeadlineLike, start
from .errors import (
    APIConnectionError,
    DailyQuotaExceeded,
    DeadlineExceeded,
    ModelNotFound,
    RateLimited,
    RequestTimeout,
    ServerError,
)
from .usage import record_event

if TYPE_CHECKING:
    from .client import WorkersAI
    from .types import ChatChunk

T = TypeVar("T")

logger = logging.getLogger("workersai")

FALLBACK_ERRORS: tuple[type[Exception], ...] = (
    RateLimited,  # includes CapacityExceeded (3040)
    DailyQuotaExceeded,
    ModelNotFound,
    ServerError,
    RequestTimeout,
    APIConnectionError,
)


@dataclass
class Route:
    """How a call through a fallback chain went."""

    model: str = ""
    """The model that answered."""
    attempts: int = 0
    """Requests sent to every model tried, the answering one's included."""
    fallbacks: int = 0
    """Models left before the answering one (failed, or skipped because their breaker was open)."""
    skipped: list[str] = field(default_factory=list)
    """Models skipped because their breaker was open."""


class FallbackChain:
    """Tries ``models`` in order on ``client`` under the budget rules above. ``reject_if_busy`` is
    sent to every model that has a fallback unless it is ``False``; ``deadline`` bounds the whole
    call. ``call(client, model)`` does the work on a client copy bound for that model's place in the
    chain; when it returns an object with ``attempts``, that count is used (a chat answer's)."""

    def __init__(
        self,
        client: WorkersAI,
        models: Sequence[str],
        *,
        reject_if_busy: bool | None = None,
        deadline: DeadlineLike | None = None,
    ) -> None:
        if not models:
            raise ValueError("no models to try")
        self.client, self.models = client, list(models)
        self.reject_if_busy = reject_if_busy
        self.deadline = start(deadline, client.transport.retry.clock)
        self.route = Route()

    def _bound(self, index: int) -> WorkersAI | None:
        """The client for the model at ``index``; None when its breaker says to skip it."""
        model, last = self.models[index], index == len(self.models) - 1
        if not last and not self.client.health.allow(model):
            logger.info("Workers AI model %s skipped: its breaker is open", model)
            self.route.skipped.append(model)
            return None
        if last:
            return self.client.with_options(deadline=self.deadline, reject_if_busy=self.reject_if_busy)
        return self.client.with_options(
            max_retries=0, deadline=self.deadline, reject_if_busy=self.reject_if_busy is not False
        )

    def _left(self, index: int, exc: Exception) -> None:
        model = self.models[index]
        self.route.attempts += getattr(exc, "attempts", None) or 1
        record_event(model, "fallbacks")
        logger.info(
            "Workers AI model %s failed with %s; falling back to %s",
            model,
            type(exc).__name__,
            self.models[index + 1],
        )

    def _answered(self, index: int, result: T, attempts: int | None) -> T:
        self.route.model = self.models[index]
        self.route.attempts += attempts or getattr(result, "attempts", None) or 1
        self.route.fallbacks = index
        if hasattr(result, "fallbacks"):  # a ChatResult: the chain's counts
            result.fallbacks = index
            result.attempts = self.route.attempts  # type: ignore[attr-defined]
        return result

    def run(self, call: Callable[[WorkersAI, str], T]) -> T:
        """The first answer of ``call`` along the chain; the last model's error when none answers."""
        for index, model in enumerate(self.models):
            bound = self._bound(index)
            if bound is None:
                continue
            try:
                return self._answered(index, call(bound, model), None)
            except DeadlineExceeded:
                raise
            except FALLBACK_ERRORS as exc:
                if index == len(self.models) - 1:
                    raise
                self._left(index, exc)
        raise AssertionError("unreachable: the last model is never skipped")

    async def arun(self, call: Callable[[WorkersAI, str], Awaitable[T]]) -> T:
        """Async twin of :meth:`run`."""
        for index, model in enumerate(self.models):
            bound = self._bound(index)
            if bound is None:
                continue
            try:
                return self._answered(index, await call(bound, model), None)
            except DeadlineExceeded:
                raise
            except FALLBACK_ERRORS as exc:
                if index == len(self.models) - 1:
                    raise
                self._left(index, exc)
        raise AssertionError("unreachable: the last model is never skipped")


def _marked(route: Route, chunk: ChatChunk) -> ChatChunk:
    """The last chunk of a stream with the chain's counts: the fallbacks taken, and the attempts on
    every model tried (the stream's own count covers only the model that answered)."""
    if chunk.finish_reason is not None:
        chunk.fallbacks = route.fallbacks
        chunk.attempts = route.attempts - 1 + (chunk.attempts or 1)
    return chunk


def stream_through(
    chain: FallbackChain, open_stream: Callable[[WorkersAI, str], Iterator[ChatChunk]]
) -> Iterator[ChatChunk]:
    """A chat stream along ``chain``: a model is left only before its first chunk arrives; after it, a
    break is :class:`~workersai.errors.StreamInterrupted` as for any stream."""

    def opened(client: WorkersAI, model: str) -> tuple[ChatChunk, Iterator[ChatChunk]]:
        stream = open_stream(client, model)
        return next(stream), stream

    first, rest = chain.run(opened)
    yield _marked(chain.route, first)
    for chunk in rest:
        yield _marked(chain.route, chunk)


async def astream_through(
    chain: FallbackChain, open_stream: Callable[[WorkersAI, str], AsyncIterator[ChatChunk]]
) -> AsyncIterator[ChatChunk]:
    """Async twin of :func:`stream_through`."""

    async def opened(client: WorkersAI, model: str) -> tuple[ChatChunk, AsyncIterator[ChatChunk]]:
        stream = open_stream(client, model)
        return await anext(stream), stream

    first, rest = await chain.arun(opened)
    yield _marked(chain.route, first)
    async for chunk in rest:
        yield _marked(chain.route, chunk)
