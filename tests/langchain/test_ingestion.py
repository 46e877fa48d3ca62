"""Streamed ingestion through the LangChain store: chunks, batches, checks before any request."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from langchain_workersai import VectorizeVectorStore, WorkersAIEmbeddings
from workersai import BadInput, WorkersAI
from workersai.local import LocalEmulator

from ..conftest import RequestLog

DOCS = 40


@pytest.fixture
def small_store(logged_client: WorkersAI) -> Iterator[VectorizeVectorStore]:
    embeddings = WorkersAIEmbeddings(model="@cf/baai/bge-small-en-v1.5", client=logged_client)
    store = VectorizeVectorStore(
        f"ing-{uuid.uuid4().hex[:10]}", embeddings, client=logged_client, chunk_size=7, batch_size=5
    )
    store.create_index(384)
    yield store
    logged_client.vectorize.delete_index(store.index_name)


def _paths(log: RequestLog, suffix: str) -> list[str]:
    return [r.url.path for r in log.requests if r.url.path.endswith(suffix)]


def _docs() -> tuple[list[str], list[str], list[dict[str, int]]]:
    texts = [f"streamed document number {i}" for i in range(DOCS)]
    return texts, [f"s-{i}" for i in range(DOCS)], [{"n": i} for i in range(DOCS)]


def _assert_all_stored(store: VectorizeVectorStore, texts: list[str], ids: list[str]) -> None:
    assert sorted(store.client.vectorize.list_ids(store.index_name)) == sorted(ids)
    docs = {d.id: d for d in store.get_by_ids(ids)}
    assert [docs[i].page_content for i in ids] == texts
    assert [docs[i].metadata for i in ids] == [{"n": n} for n in range(DOCS)]


def test_add_texts_embeds_in_chunks_and_writes_in_batches(
    small_store: VectorizeVectorStore, request_log: RequestLog
) -> None:
    texts, ids, metas = _docs()
    request_log.requests.clear()
    assert small_store.add_texts(texts, metas, ids=ids) == ids
    assert len(_paths(request_log, "bge-small-en-v1.5")) == 6  # 40 texts, 7 a chunk
    assert len(_paths(request_log, "/upsert")) == 8  # 40 vectors, 5 a request
    _assert_all_stored(small_store, texts, ids)


async def test_aadd_texts_streams_the_same_way(
    small_store: VectorizeVectorStore, request_log: RequestLog
) -> None:
    texts, ids, metas = _docs()
    request_log.requests.clear()
    assert await small_store.aadd_texts(texts, metas, ids=ids) == ids
    assert len(_paths(request_log, "bge-small-en-v1.5")) == 6
    assert len(_paths(request_log, "/upsert")) == 8
    _assert_all_stored(small_store, texts, ids)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_a_bad_document_stops_the_call_before_any_request(
    small_store: VectorizeVectorStore, request_log: RequestLog, use_async: bool
) -> None:
    texts, ids, metas = _docs()
    texts[33] = "x" * 11_000  # over the 10 KiB metadata limit once stored as the text
    request_log.requests.clear()
    with pytest.raises(BadInput, match="document 's-33'"):
        if use_async:
            await small_store.aadd_texts(texts, metas, ids=ids)
        else:
            small_store.add_texts(texts, metas, ids=ids)
    assert request_log.requests == []
    assert list(small_store.client.vectorize.list_ids(small_store.index_name)) == []


def test_ids_over_64_bytes_and_bad_chunk_size_are_refused(small_store: VectorizeVectorStore) -> None:
    with pytest.raises(BadInput, match="64"):
        small_store.add_texts(["a"], ids=["x" * 65])
    with pytest.raises(BadInput, match="chunk_size"):
        VectorizeVectorStore("any", small_store.embedding, client=small_store.client, chunk_size=0)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_deferred_writes_are_found_by_the_next_search(use_async: bool) -> None:
    # Mutations take 300 ms to apply here; three add calls return without waiting for them, and the
    # search after them waits once, for all three.
    with LocalEmulator(mutation_delay_ms=300) as emu, emu.client() as client:
        embeddings = WorkersAIEmbeddings(model="@cf/baai/bge-small-en-v1.5", client=client)
        store = VectorizeVectorStore("deferred", embeddings, client=client, wait="deferred")
        store.create_index(384)
        texts = [
            f"deferred note {i} about {topic}" for topic in ("rivers", "bread", "orbits") for i in range(3)
        ]
        for start in range(0, 9, 3):
            if use_async:
                await store.aadd_texts(
                    texts[start : start + 3], ids=[f"d{i}" for i in range(start, start + 3)]
                )
            else:
                store.add_texts(texts[start : start + 3], ids=[f"d{i}" for i in range(start, start + 3)])
        assert client.vectorize.has_deferred_writes("deferred")
        if use_async:
            found = await store.asimilarity_search("a note about orbits", k=9)
        else:
            found = store.similarity_search("a note about orbits", k=9)
        assert sorted(d.id for d in found) == [f"d{i}" for i in range(9)]
        assert not client.vectorize.has_deferred_writes("deferred")
        assert found[0].page_content.endswith("orbits")
