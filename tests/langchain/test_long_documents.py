"""Long documents in the LangChain store: kept whole in D1 with ``d1_database_id``, refused clearly (and
before any embedding) without it. Over HTTP against the emulator."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from langchain_core.documents import Document

from langchain_workersai import VectorizeVectorStore, WorkersAIEmbeddings
from workersai import WorkersAI
from workersai.vectorize import TextTooLong
from workersai.vectorize.texts import text_hash

from ..conftest import RequestLog

LONG = " ".join(f"word{i} about cats and the sea" for i in range(1800))  # ~50 KB


def _store(client: WorkersAI, d1_database_id: str | None = None) -> VectorizeVectorStore:
    embeddings = WorkersAIEmbeddings(model="@cf/baai/bge-small-en-v1.5", client=client)
    name = f"long-{uuid.uuid4().hex[:10]}"
    return VectorizeVectorStore(name, embeddings, client=client, d1_database_id=d1_database_id)


@pytest.fixture
def database(logged_client: WorkersAI) -> Iterator[str]:
    created = logged_client.d1.create_database(f"lc-{uuid.uuid4().hex[:8]}")
    yield created.uuid
    logged_client.d1.delete_database(created.uuid)


def _rows(client: WorkersAI, database: str, store: VectorizeVectorStore) -> dict[str, str]:
    table = f'"vectorize_text_versions_{store.index_name}"'
    found = client.d1.query(database, f"SELECT id, text FROM {table}")
    return {row["id"]: row["text"] for row in found[0].results}


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_a_50kb_document_is_kept_whole_in_d1(
    logged_client: WorkersAI, request_log: RequestLog, database: str, use_async: bool
) -> None:
    assert len(LONG.encode()) > 50_000
    store = _store(logged_client, database)
    store.create_index()
    docs = [
        Document(page_content=LONG, metadata={"kind": "long"}, id="long-1"),
        Document(page_content="a short note about dogs", metadata={"kind": "short"}, id="short-1"),
    ]
    request_log.requests.clear()
    if use_async:
        assert await store.aadd_documents(docs) == ["long-1", "short-1"]
        found = await store.asimilarity_search("cats and the sea", k=2)
        by_id = await store.aget_by_ids(["long-1"])
    else:
        assert store.add_documents(docs) == ["long-1", "short-1"]
        found = store.similarity_search("cats and the sea", k=2)
        by_id = store.get_by_ids(["long-1"])
    paths = [r.url.path for r in request_log.requests]
    first_text = next(i for i, p in enumerate(paths) if "/d1/database/" in p)
    first_vector = next(i for i, p in enumerate(paths) if p.endswith("/upsert"))
    assert first_text < first_vector  # the texts are written before the vectors
    assert {d.id: d.page_content for d in found} == {"long-1": LONG, "short-1": "a short note about dogs"}
    assert {d.id: d.metadata for d in found} == {"long-1": {"kind": "long"}, "short-1": {"kind": "short"}}
    assert by_id[0].page_content == LONG
    stored = logged_client.vectorize.get_by_ids(store.index_name, ["long-1"])
    # only the document's own metadata in Vectorize, and the version of its text
    assert stored[0].metadata == {"kind": "long", "_text_hash": text_hash(LONG)}
    assert _rows(logged_client, database, store) == {"long-1": LONG, "short-1": "a short note about dogs"}

    if use_async:
        await store.adelete(["long-1"])
    else:
        store.delete(["long-1"])
    assert _rows(logged_client, database, store) == {"short-1": "a short note about dogs"}
    store.delete()  # everything: the vectors and their texts
    assert _rows(logged_client, database, store) == {}
    assert list(logged_client.vectorize.list_ids(store.index_name)) == []


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_without_d1_a_long_document_is_refused_before_any_embedding(
    logged_client: WorkersAI, request_log: RequestLog, use_async: bool
) -> None:
    store = _store(logged_client)
    docs = [Document(page_content="short"), Document(page_content=LONG, id="the-long-one")]
    request_log.requests.clear()
    with pytest.raises(TextTooLong) as caught:
        if use_async:
            await store.aadd_documents(docs)
        else:
            store.add_documents(docs)
    assert request_log.requests == []  # nothing embedded, nothing written
    message = str(caught.value)
    assert caught.value.vector_id == "the-long-one" and caught.value.position == 1
    assert f"{len(LONG.encode()):,} bytes" in message
    for part in ("'the-long-one'", "number 1 in this call", "10,240 bytes (10 KiB)"):
        assert part in message
    for part in ("chunk_size", "d1_database_id="):  # both fixes
        assert part in message
