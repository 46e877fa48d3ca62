"""Streamed ingestion through the LangChain store: chunks, batches, checks before any request."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import httpx
import numpy
import orjson
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


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_vectors_pass_through_as_the_service_wrote_them(
    emulator: LocalEmulator, monkeypatch: pytest.MonkeyPatch, use_async: bool
) -> None:
    """With our own embeddings the store never parses an embedding answer's floats: each row goes into
    the NDJSON as the answer's bytes, so the writes carry exactly the numbers the embedding model
    returned (compared as text), and the index holds them."""
    answers: dict[str, bytes] = {}  # text -> its row in the answer, as sent by the service
    sent: dict[str, bytes] = {}  # id -> its values in the NDJSON, as sent by the client

    def rows(response: httpx.Response) -> None:
        response.read()
        if "/ai/run/" in response.url.path:
            texts = orjson.loads(response.request.content)["text"]
            body = response.content
            start = body.index(b'"data":[') + 7
            data = body[start : body.index(b"]]", start) + 2]  # [[...],...,[...]]
            answers.update(zip(texts, [b"[" + row + b"]" for row in data[2:-2].split(b"],[")], strict=True))
        if response.url.path.endswith("/upsert"):
            for line in response.request.content.splitlines():
                at = line.index(b'"values":') + 9
                sent[orjson.loads(line)["id"]] = line[at : line.index(b"]", at) + 1]

    http = httpx.Client(timeout=60, event_hooks={"response": [rows]})
    ahttp = httpx.AsyncClient(timeout=60, event_hooks={"response": [lambda r: _aread(r, rows)]})
    client = emulator.client(http_client=http, async_http_client=ahttp)
    embeddings = WorkersAIEmbeddings(model="@cf/baai/bge-small-en-v1.5", client=client)
    store = VectorizeVectorStore(f"ing-{uuid.uuid4().hex[:10]}", embeddings, client=client, chunk_size=7)
    store.create_index(384)
    texts, ids, metas = _docs()

    def parsed(*args: object) -> None:
        raise AssertionError("an embedding answer was parsed into floats")

    monkeypatch.setattr(WorkersAI, "_vectors", staticmethod(parsed))
    if use_async:
        await store.aadd_texts(texts, metas, ids=ids)
    else:
        store.add_texts(texts, metas, ids=ids)
    monkeypatch.undo()
    assert sent == {i: answers[t] for i, t in zip(ids, texts, strict=True)}
    stored = {v.id: v.values for v in client.vectorize.get_by_ids(store.index_name, ids)}
    returned = {i: orjson.loads(answers[t]) for i, t in zip(ids, texts, strict=True)}
    assert stored == {i: [float(numpy.float32(x)) for x in v] for i, v in returned.items()}  # float32
    _assert_all_stored(store, texts, ids)
    client.vectorize.delete_index(store.index_name)
    client.close()
    http.close()
    await ahttp.aclose()


async def _aread(response: httpx.Response, then: Callable[[httpx.Response], None]) -> None:
    await response.aread()
    then(response)


async def test_subclassed_or_foreign_embeddings_keep_their_own_embed_documents(
    logged_client: WorkersAI,
) -> None:
    """An ``embed_documents`` overridden in a subclass is still called (no pass-through around it)."""

    class Shifted(WorkersAIEmbeddings):
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            return [[v + 1.0 for v in row] for row in super().embed_documents(texts)]

        async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
            return self.embed_documents(texts)

    embeddings = Shifted(model="@cf/baai/bge-small-en-v1.5", client=logged_client)
    store = VectorizeVectorStore(f"ing-{uuid.uuid4().hex[:10]}", embeddings, client=logged_client)
    store.create_index(384)
    store.add_texts(["one"], ids=["a"])
    await store.aadd_texts(["two"], ids=["b"])
    plain = logged_client.embed(["one", "two"], model="@cf/baai/bge-small-en-v1.5")
    stored = {v.id: v.values for v in logged_client.vectorize.get_by_ids(store.index_name, ["a", "b"])}
    assert stored["a"] == pytest.approx([v + 1.0 for v in plain[0]], abs=1e-6)
    assert stored["b"] == pytest.approx([v + 1.0 for v in plain[1]], abs=1e-6)
    logged_client.vectorize.delete_index(store.index_name)
