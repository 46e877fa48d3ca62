"""Flows, written once and driven by sync and async runners that only do the I/O: the one flow runtime
of the package.

As httpx's ``Auth.auth_flow``: a flow is a generator that yields what it needs next and receives the
answer; it holds the logic, the runners hold the I/O, and it can be tested without HTTP by sending it
answers. Two kinds of runner:

- :func:`drive` / :func:`adrive` run a flow whose steps are one call each: the caller's ``step`` answers
  every thing the flow yields (the catalog's and AI Search's pages, D1's listings, a batch's polls and
  its :class:`Sleep`); an error of ``step`` ends the flow.
- :func:`run` / :func:`iterate` and :func:`arun` / :func:`aiterate` run the flows that also start
  requests concurrently and stream their input (Vectorize's writes, reads and waits). Their operations:

  - :class:`Request`: send one request and wait; receive its parsed result.
  - :class:`Start`: send one request concurrently; receive a ticket at once.
  - :class:`Collect`: receive ``(ticket, result)`` of the next started request that finishes.
  - :class:`Pull`: receive the next item of the flow's input, ``None`` at its end.
  - :class:`Emit`: hand a value out to the caller of an iterating runner; receive ``None``.
  - :class:`Sleep`: pause.

  An error of an operation is thrown into the flow where it yielded. When a flow ends, by return or
  error, requests still running are waited for (sync) or cancelled (async) before it is closed.

  A :class:`~workersai.vectorize.consistency.Mutation` is sent through its index's
  :class:`~workersai.vectorize.consistency.MutationLog`, which orders it against this process's other
  writes to that index and answers a :class:`~workersai.vectorize.consistency.Written`.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Generator,
    Hashable,
    Iterable,
    Iterator,
    Mapping,
)
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar, Union

from .errors import ResponseFormatError

if TYPE_CHECKING:
    from .vectorize.consistency import Mutation

T = TypeVar("T")
Y = TypeVar("Y")
S = TypeVar("S")
R = TypeVar("R")
E = TypeVar("E")

MAX_PAGES = 10_000
"""Pages a listing may take before it is taken for a server that never ends one."""


@dataclass
class Sleep:
    """Pause for ``seconds``; receive ``None``."""

    seconds: float


def drive(flow: Generator[Y, S, R], step: Callable[[Y], S]) -> R:
    """Run ``flow`` to its end, answering each thing it yields with ``step(thing)``; returns what the
    flow returns. An error of ``step`` propagates (the flow is closed)."""
    try:
        need = next(flow)
        while True:
            need = flow.send(step(need))
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        flow.close()


async def adrive(flow: Generator[Y, S, R], step: Callable[[Y], Awaitable[S]]) -> R:
    """Async twin of :func:`drive`: each answer is ``await step(thing)``."""
    try:
        need = next(flow)
        while True:
            need = flow.send(await step(need))
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        flow.close()


def numbered_pages(
    query: Mapping[str, Any], per_page: int, key: Callable[[E], Hashable], what: str
) -> Generator[dict[str, Any], list[E], list[E]]:
    """Every entry of a page-numbered listing: yields page 1, 2, ...'s query (``query`` with ``page``
    and ``per_page``), receives that page's entries, and ends on a page shorter than ``per_page``.

    A page that holds only entries of earlier pages (by ``key``) means the server ignores ``page`` (or
    repeats itself): :class:`~workersai.errors.ResponseFormatError` naming ``what``, rather than a loop
    that never ends. An entry seen again on a later page (the listing shifted while it was read) is
    kept once."""
    found: list[E] = []
    seen: set[Hashable] = set()
    for number in range(1, MAX_PAGES + 1):
        page = yield {**query, "page": number, "per_page": per_page}
        keys = [key(entry) for entry in page]
        if page and seen.issuperset(keys):
            raise ResponseFormatError(
                f"{what} page {number} repeats earlier pages' entries (the server ignores 'page')"
            )
        found.extend(entry for entry, k in zip(page, keys, strict=True) if k not in seen)
        seen.update(keys)
        if len(page) < per_page:
            return found
    raise ResponseFormatError(f"the {what} did not end within {MAX_PAGES} pages")


# -- the runners of concurrent, streaming flows (Vectorize) ----------------------------------------
@dataclass
class Call(Generic[T]):
    """One Vectorize request: method, path under ``/vectorize/v2/indexes``, body, and how to read the
    envelope's ``result``."""

    method: str
    path: str
    parse: Callable[[Any], T]
    json: Any = None
    content: bytes | None = None
    params: dict[str, Any] | None = None
    content_type: str | None = None


Sendable = Union[Call[Any], "Mutation"]


@dataclass
class Request:
    call: Sendable


@dataclass
class Start:
    call: Sendable


@dataclass
class Collect:
    pass


@dataclass
class Pull:
    pass


@dataclass
class Emit:
    value: Any


Op = Request | Start | Collect | Pull | Emit | Sleep
Flow = Generator[Op, Any, T]


class _Done(Generic[T]):
    """The value a flow returned, for the iterating async runner (async generators return nothing)."""

    value: T


def run(
    flow: Flow[T],
    send: Callable[[Sendable], Any],
    *,
    source: Iterable[Any] = (),
    concurrency: int = 1,
) -> T:
    """Drive ``flow`` to its end with blocking I/O; returns what it returns."""
    emitted = iterate(flow, send, source=source, concurrency=concurrency)
    while True:
        try:
            next(emitted)
        except StopIteration as stop:
            return stop.value  # type: ignore[no-any-return]


def iterate(
    flow: Flow[T],
    send: Callable[[Sendable], Any],
    *,
    source: Iterable[Any] = (),
    concurrency: int = 1,
) -> Generator[Any, None, T]:
    """Drive ``flow`` with blocking I/O, yielding what it emits; returns what it returns."""
    items: Iterator[Any] = iter(source)
    pool: ThreadPoolExecutor | None = None
    running: dict[Future[Any], int] = {}
    tickets = itertools.count()
    try:
        op = next(flow)
        while True:
            try:
                if isinstance(op, Request):
                    value = send(op.call)
                elif isinstance(op, Start):
                    pool = pool or ThreadPoolExecutor(max(1, concurrency))
                    value = next(tickets)
                    running[pool.submit(send, op.call)] = value
                elif isinstance(op, Collect):
                    done, _ = wait(running, return_when=FIRST_COMPLETED)
                    future = next(iter(done))
                    value = (running.pop(future), future.result())
                elif isinstance(op, Pull):
                    value = next(items, None)
                elif isinstance(op, Emit):
                    yield op.value
                    value = None
                else:
                    time.sleep(op.seconds)
            except Exception as exc:  # the flow decides: handle it, or let it propagate
                op = flow.throw(exc)
            else:
                op = flow.send(value)
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        flow.close()


async def arun(
    flow: Flow[T],
    send: Callable[[Sendable], Awaitable[Any]],
    *,
    source: Iterable[Any] | AsyncIterable[Any] = (),
    concurrency: int = 1,
) -> T:
    """Drive ``flow`` to its end on the running event loop; returns what it returns."""
    done: _Done[T] = _Done()
    async for _ in aiterate(flow, send, source=source, concurrency=concurrency, result=done):
        pass
    return done.value


async def aiterate(
    flow: Flow[T],
    send: Callable[[Sendable], Awaitable[Any]],
    *,
    source: Iterable[Any] | AsyncIterable[Any] = (),
    concurrency: int = 1,
    result: _Done[T] | None = None,
) -> AsyncIterator[Any]:
    """Drive ``flow`` on the running event loop, yielding what it emits (its return value goes to
    ``result``). ``source`` may be an async iterable. ``concurrency`` is the flow's to respect."""
    del concurrency  # tasks need no pool; the flow bounds how many it starts
    aitems = source.__aiter__() if isinstance(source, AsyncIterable) else None
    items = iter(source) if aitems is None else None  # type: ignore[arg-type]
    running: dict[asyncio.Task[Any], int] = {}
    tickets = itertools.count()
    try:
        op = next(flow)
        while True:
            try:
                if isinstance(op, Request):
                    value = await send(op.call)
                elif isinstance(op, Start):
                    value = next(tickets)
                    running[asyncio.ensure_future(send(op.call))] = value
                elif isinstance(op, Collect):
                    done, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                    task = next(iter(done))
                    value = (running.pop(task), task.result())
                elif isinstance(op, Pull):
                    if aitems is not None:
                        value = await anext(aitems, None)
                    else:
                        assert items is not None
                        value = next(items, None)
                elif isinstance(op, Emit):
                    yield op.value
                    value = None
                else:
                    await asyncio.sleep(op.seconds)
            except Exception as exc:
                op = flow.throw(exc)
            else:
                op = flow.send(value)
    except StopIteration as stop:
        if result is not None:
            result.value = stop.value
    finally:
        for task in running:
            task.cancel()
        if running:
            await asyncio.gather(*running, return_exceptions=True)
        flow.close()
