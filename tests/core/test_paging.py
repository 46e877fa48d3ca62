"""Paginating loops end against a server that ignores ``page`` or repeats a cursor (issue #25, item 7):
``ResponseFormatError`` after the repeated page, never a loop that runs for ever. Both fail on 9d8d072
(they loop until the request cap below stops them)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from workersai import ResponseFormatError

from .conftest import Wire, envelope

CAP = 50
"""Requests a looping client is allowed before the test server stops it."""


class Looping(Exception):
    """The client asked for more pages than any finite listing here holds."""


def capped(answer: Callable[[httpx.Request], httpx.Response]) -> Wire:
    wire = Wire()

    def handler(request: httpx.Request) -> httpx.Response:
        if len(wire.requests) > CAP:
            raise Looping(f"{len(wire.requests)} requests")
        return answer(request)

    wire.answer = handler
    return wire


def _database(i: int) -> dict[str, Any]:
    return {"uuid": str(uuid.UUID(int=i)), "name": f"db-{i}", "created_at": "2026-01-01T00:00:00Z"}


def _run(use_async: bool, sync: Callable[[], Any], asynchronous: Callable[[], Any]) -> Any:
    return asyncio.run(asynchronous()) if use_async else sync()


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_d1_listing_stops_when_the_server_ignores_page(use_async: bool) -> None:
    wire = capped(lambda request: envelope([_database(i) for i in range(3)]))
    with wire.client() as client, pytest.raises(ResponseFormatError, match="page 2 repeats"):
        _run(
            use_async,
            lambda: client.d1.list_databases(per_page=3),
            lambda: client.d1.alist_databases(per_page=3),
        )
    assert len(wire.requests) == 2


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_d1_listing_keeps_a_database_seen_twice_once_and_ends(use_async: bool) -> None:
    """A listing that shifted while it was read (a database created in front) repeats one database on
    the next page: kept once, and the listing still ends on its short page."""
    pages = {1: [0, 1, 2], 2: [2, 3, 4], 3: [5]}

    def answer(request: httpx.Request) -> httpx.Response:
        return envelope([_database(i) for i in pages[int(request.url.params["page"])]])

    wire = capped(answer)
    with wire.client() as client:
        found = _run(
            use_async,
            lambda: client.d1.list_databases(per_page=3),
            lambda: client.d1.alist_databases(per_page=3),
        )
    assert [d.name for d in found] == [f"db-{i}" for i in range(6)]
    assert len(wire.requests) == 3


def _id_page(ids: list[str], cursor: str | None) -> httpx.Response:
    return envelope(
        {
            "vectors": [{"id": i} for i in ids],
            "count": len(ids),
            "isTruncated": cursor is not None,
            "nextCursor": cursor,
        }
    )


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize(
    "server",
    ["ignores-cursor", "cursors-in-a-circle"],
)
def test_vectorize_list_ids_stops_on_a_repeated_cursor(use_async: bool, server: str) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        cursor = request.url.params.get("cursor")
        if server == "ignores-cursor":
            return _id_page(["a", "b"], "c1")
        following = {None: "c1", "c1": "c2", "c2": "c1"}[cursor]
        return _id_page([f"{cursor}-x"], following)

    wire = capped(answer)
    with wire.client() as client, pytest.raises(ResponseFormatError, match="repeats cursor"):
        if use_async:

            async def drain() -> list[str]:
                return [i async for i in client.vectorize.alist_ids("idx")]

            asyncio.run(drain())
        else:
            list(client.vectorize.list_ids("idx"))
    assert len(wire.requests) == (2 if server == "ignores-cursor" else 3)
