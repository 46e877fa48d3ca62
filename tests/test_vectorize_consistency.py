"""Confirmed means applied: waited writes return only once the index has applied them (issue #12).

Each test would fail on the content-comparing confirmation of c25764b: with a slow index it returned
as soon as the last vector of a request read back as sent, and it timed out on metadata that changes
on the JSON round trip.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from workersai import RetryPolicy, WorkersAI
from workersai.local import LocalEmulator

SLOW_MS = 1500


@pytest.fixture(scope="module")
def slow_emulator() -> Iterator[LocalEmulator]:
    """An index that applies each mutation 1.5 s after accepting it."""
    with LocalEmulator(mutation_delay_ms=SLOW_MS) as emu:
        yield emu


@pytest.fixture
def slow(slow_emulator: LocalEmulator) -> Iterator[tuple[WorkersAI, str]]:
    with slow_emulator.client() as client:
        name = f"c-{uuid.uuid4().hex[:10]}"
        client.vectorize.create_index(name, dimensions=3)
        try:
            yield client, name
        finally:
            client.vectorize.delete_index(name)


def _seed(client: WorkersAI, name: str, *ids: str) -> None:
    client.vectorize.upsert(name, [{"id": i, "values": [1.0, 0.0, 0.0]} for i in ids], wait=True)


def test_waited_delete_returns_only_once_applied(slow: tuple[WorkersAI, str]) -> None:
    client, name = slow
    _seed(client, name, "a")
    # The last id never existed, so it "reads back as deleted" at once: the old wait returned here.
    client.vectorize.delete_by_ids(name, ["a", "never-existed"], wait=True)
    assert client.vectorize.get_by_ids(name, ["a"]) == []


@pytest.mark.parametrize("kind", ["insert", "upsert"])
def test_waited_write_returns_only_once_applied(slow: tuple[WorkersAI, str], kind: str) -> None:
    client, name = slow
    _seed(client, name, "old")
    # The request's last vector is already stored as sent, so the old wait returned at once.
    write = getattr(client.vectorize, kind)
    write(
        name, [{"id": "new", "values": [0.0, 1.0, 0.0]}, {"id": "old", "values": [1.0, 0.0, 0.0]}], wait=True
    )
    assert [v.id for v in client.vectorize.get_by_ids(name, ["new"])] == ["new"]


async def test_async_waited_write_returns_only_once_applied(slow: tuple[WorkersAI, str]) -> None:
    client, name = slow
    _seed(client, name, "old")
    await client.vectorize.aupsert(
        name, [{"id": "new", "values": [0.0, 1.0, 0.0]}, {"id": "old", "values": [1.0, 0.0, 0.0]}], wait=True
    )
    assert [v.id for v in await client.vectorize.aget_by_ids(name, ["new"])] == ["new"]


ROUND_TRIP_CHANGES: dict[str, Any] = {
    "day": dt.date(2026, 11, 28),
    "at": dt.datetime(2026, 11, 28, 12, 30, tzinfo=dt.timezone.utc),
    "pair": (1, 2),
    "uid": uuid.UUID(int=7),
    "f32": np.float32(1.5),
    "i64": np.int64(3),
}


def test_metadata_that_changes_on_the_round_trip_is_confirmed(client: WorkersAI) -> None:
    name = f"rt-{uuid.uuid4().hex[:10]}"
    client.vectorize.create_index(name, dimensions=3)
    try:
        vectors = [
            {"id": f"d{i}", "values": [1.0, float(i), 0.0], "metadata": dict(ROUND_TRIP_CHANGES)}
            for i in range(1500)
        ]
        client.vectorize.upsert(name, vectors, wait=True, timeout=20, batch_size=500)
        stored = client.vectorize.get_by_ids(name, ["d0", "d1499"])
        assert [v.id for v in stored] == ["d0", "d1499"]
        assert stored[0].metadata == {
            "day": "2026-11-28",
            "at": "2026-11-28T12:30:00+00:00",
            "pair": [1, 2],
            "uid": str(uuid.UUID(int=7)),
            "f32": 1.5,
            "i64": 3,
        }
    finally:
        client.vectorize.delete_index(name)


def test_langchain_add_texts_with_a_date_is_confirmed(emulator: LocalEmulator) -> None:
    pytest.importorskip("langchain_core")
    from langchain_core.embeddings import DeterministicFakeEmbedding

    from langchain_workersai import VectorizeVectorStore

    with emulator.client() as client:
        store = VectorizeVectorStore(
            f"lc-{uuid.uuid4().hex[:10]}", DeterministicFakeEmbedding(size=6), client=client, wait_timeout=20
        )
        store.create_index()
        try:
            texts = [f"document {i}" for i in range(1500)]
            ids = store.add_texts(
                texts, metadatas=[{"day": dt.date(2026, 1, i % 28 + 1)} for i in range(1500)]
            )
            assert len(client.vectorize.get_by_ids(store.index_name, ids[-40:])) == 40
        finally:
            client.vectorize.delete_index(store.index_name)


class _FirstWriteSlowAnd429:
    """Delays the first write request by 300 ms and answers it 429 (the emulator's per-request fault
    header), so a later request could overtake it while it is retried."""

    def __init__(self) -> None:
        self.marked = False

    def _mark(self, request: httpx.Request) -> None:
        if self.marked:  # a retry may send the same request object again: only its first send fails
            request.headers.pop("x-workersai-local-faults", None)
        elif request.url.path.endswith("/upsert"):
            self.marked = True
            plan = {"latency_ms": 300, "error": "3040", "error_rate": 1.0}
            request.headers["x-workersai-local-faults"] = json.dumps(plan)

    def __call__(self, request: httpx.Request) -> None:
        self._mark(request)

    async def ahook(self, request: httpx.Request) -> None:
        self._mark(request)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_same_id_twice_in_one_call_last_wins(emulator: LocalEmulator, use_async: bool) -> None:
    hook = _FirstWriteSlowAnd429()
    http = httpx.Client(event_hooks={"request": [hook]})
    ahttp = httpx.AsyncClient(event_hooks={"request": [hook.ahook]})
    policy = RetryPolicy(max_retries=3, initial_backoff=0.0, max_backoff=0.0, jitter=0.0)
    vectors = [
        {"id": "x", "values": [1.0, 0.0, 0.0], "metadata": {"version": "first"}},
        {"id": "y", "values": [0.0, 1.0, 0.0]},
        {"id": "x", "values": [0.0, 0.0, 1.0], "metadata": {"version": "last"}},
    ]
    with emulator.client(retry_policy=policy, http_client=http, async_http_client=ahttp) as client:
        name = f"dup-{uuid.uuid4().hex[:10]}"
        client.vectorize.create_index(name, dimensions=3)
        try:
            if use_async:
                await client.vectorize.aupsert(name, vectors, wait=True, batch_size=1)
            else:
                client.vectorize.upsert(name, vectors, wait=True, batch_size=1)
            assert hook.marked
            [x] = client.vectorize.get_by_ids(name, ["x"])
            assert (x.values, x.metadata) == ([0.0, 0.0, 1.0], {"version": "last"})
        finally:
            client.vectorize.delete_index(name)
    http.close()
    await ahttp.aclose()


async def test_concurrent_waited_writes_from_threads_and_tasks(emulator: LocalEmulator) -> None:
    """Many waited writes to one index at once, sync and async: each returns with its vectors stored."""
    with emulator.client() as client:
        name = f"cc-{uuid.uuid4().hex[:10]}"
        client.vectorize.create_index(name, dimensions=3)
        try:

            def one(i: int) -> None:
                vecs = [{"id": f"t{i}-{k}", "values": [1.0, float(k), float(i)]} for k in range(30)]
                client.vectorize.upsert(name, vecs, wait=True, batch_size=7)
                assert len(client.vectorize.get_by_ids(name, [f"t{i}-29", f"t{i}-0"])) == 2

            async def aone(i: int) -> None:
                vecs = [{"id": f"a{i}-{k}", "values": [1.0, float(k), float(i)]} for k in range(30)]
                await client.vectorize.aupsert(name, vecs, wait=True, batch_size=7)
                assert len(await client.vectorize.aget_by_ids(name, [f"a{i}-29", f"a{i}-0"])) == 2

            threads = [asyncio.to_thread(one, i) for i in range(4)]
            await asyncio.gather(*threads, *(aone(i) for i in range(6)))
        finally:
            client.vectorize.delete_index(name)
