"""The read flows that take more than one request: reads by id in parallel parts, paged listing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from ..errors import ResponseFormatError
from ..flows import Call, Collect, Emit, Flow, Request, Start
from .results import IdPage, Vector

T = TypeVar("T")
GET_BY_IDS_BATCH = 20
"""Ids a ``get_by_ids`` request asks for. No limit is documented (limits page, workers-types'
``getByIds(ids: string[])``) or reported for reads; ``delete_by_ids`` is refused past 100 ids (40007),
so reads stay well within what is known to be served."""


def gather(calls: Sequence[Call[T]], concurrency: int) -> Flow[list[T]]:
    """Every call's result, in order, with at most ``concurrency`` requests in flight."""
    results: dict[int, T] = {}
    inflight: dict[int, int] = {}  # ticket -> position
    for position, call in enumerate(calls):
        if len(inflight) >= concurrency:
            ticket, value = yield Collect()
            results[inflight.pop(ticket)] = value
        inflight[(yield Start(call))] = position
    while inflight:
        ticket, value = yield Collect()
        results[inflight.pop(ticket)] = value
    return [results[p] for p in range(len(calls))]


def _parts(ids: Sequence[str]) -> list[list[str]]:
    return [list(ids[s : s + GET_BY_IDS_BATCH]) for s in range(0, len(ids), GET_BY_IDS_BATCH)]


def get_by_ids(
    ids: Sequence[str], call_for: Callable[[list[str]], Call[list[Vector]]], concurrency: int
) -> Flow[list[Vector]]:
    """The stored vectors among ``ids`` (missing ones left out), ``GET_BY_IDS_BATCH`` ids a request."""
    found = yield from gather([call_for(part) for part in _parts(ids)], concurrency)
    return [v for part in found for v in part]


def stored(
    ids: Sequence[str], call_for: Callable[[list[str]], Call[dict[str, str | None]]], concurrency: int
) -> Flow[dict[str, str | None]]:
    """``{id: namespace}`` of the stored vectors among ``ids``: ``get_by_ids`` as :func:`get_by_ids`
    asks it, read for ids and namespaces only."""
    found = yield from gather([call_for(part) for part in _parts(ids)], concurrency)
    return {vid: namespace for part in found for vid, namespace in part.items()}


def list_ids(
    page_call: Callable[[str | None], Call[IdPage]],
    in_namespace: Callable[[list[str]], Flow[list[str]]] | None = None,
) -> Flow[None]:
    """Emit every id of an index, following the cursor page by page; with ``in_namespace``, only the
    ids of each page that flow keeps.

    A cursor the server gave before (it ignores ``cursor``, or its cursors go round in a circle) is
    :class:`~workersai.errors.ResponseFormatError` rather than a listing that never ends."""
    cursor: str | None = None
    given: set[str] = set()
    while True:
        page: IdPage = yield Request(page_call(cursor))
        ids = page.ids if in_namespace is None else (yield from in_namespace(page.ids))
        for vector_id in ids:
            yield Emit(vector_id)
        if page.next_cursor is None:
            return
        if page.next_cursor in given:
            raise ResponseFormatError(
                f"the id listing repeats cursor {page.next_cursor[:40]!r} after {len(given) + 1} pages "
                "(the server ignores 'cursor')"
            )
        given.add(page.next_cursor)
        cursor = page.next_cursor


def query_by_id(
    vector_id: str,
    lookup: Call[list[Vector]],
    query_for: Callable[[list[float]], Call[Any]],
    missing: Callable[[], Exception],
) -> Flow[Any]:
    """Query with the stored values of ``vector_id``."""
    found: list[Vector] = yield Request(lookup)
    if not found:
        raise missing()
    result = yield Request(query_for(found[0].values))
    return result
