"""Flows, written once and driven by a sync and an async runner that only do the I/O.

As httpx's ``Auth.auth_flow``: a flow is a generator that yields what it needs next (a page's query, a
poll, a pause) and receives the answer; it holds the logic and can be tested without HTTP by sending it
answers. :func:`drive` and :func:`adrive` run a flow whose steps are one call each (the catalog's pages,
a batch's polls); Vectorize's flows, which also start requests concurrently and stream their input,
have their own runners in :mod:`workersai.vectorize.flows`, with the same :class:`Sleep`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from .errors import ResponseFormatError

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
