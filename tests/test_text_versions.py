"""A store's texts in D1 agree with its vectors (#25 item 3): a search never returns a text other than
the one its vector was embedded from, ``skip_existing`` never changes a stored document, and a call
that raised (embedding failed, Vectorize write failed) changed nothing visible. Both stores, over HTTP
against the emulator, faults injected by the emulator. The kill -9 drill is in ``tests/test_resume.py``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pytest

from workersai import WorkersAI, WorkersAIError
from workersai.local import LocalEmulator
from workersai.vectorize.texts import TEXT_HASH_KEY, text_hash

from .conftest import RequestLog

EMBED = "@cf/baai/bge-small-en-v1.5"


@pytest.fixture
def database(client: WorkersAI) -> Iterator[str]:
    created = client.d1.create_database(f"versions-{uuid.uuid4().hex[:8]}")
    yield created.uuid
    client.d1.delete_database(created.uuid)


def rows(client: WorkersAI, database: str, index: str) -> list[tuple[str, str]]:
    """Every (id, text) D1 holds for the index, versions and texts kept before versions."""
    found = client.d1.query(
        database,
        f'SELECT id, text FROM "vectorize_text_versions_{index}" UNION ALL '
        f'SELECT id, text FROM "vectorize_texts_{index}" ORDER BY id, text',
    )
    return [(r["id"], r["text"]) for r in found[0].results]


def assert_embedded_from(client: WorkersAI, index: str, pairs: Sequence[tuple[str, str]]) -> None:
    """Each (id, text) a store returned: the stored vector of that id is the embedding of that text."""
    stored = {v.id: v.values for v in client.vectorize.get_by_ids(index, [i for i, _ in pairs])}
    fresh = client.embed(model=EMBED, texts=[t for _, t in pairs])
    for (vid, text), vector in zip(pairs, fresh, strict=True):
        assert np.allclose(stored[vid], vector, atol=1e-5), f"{vid} returned with {text!r}"


def lc_store(client: WorkersAI, database: str, **kwargs: Any) -> Any:
    from langchain_workersai import VectorizeVectorStore, WorkersAIEmbeddings

    embeddings = WorkersAIEmbeddings(model=EMBED, client=client)
    store = VectorizeVectorStore(
        f"ver-{uuid.uuid4().hex[:10]}", embeddings, client=client, d1_database_id=database, **kwargs
    )
    store.create_index()
    return store


async def lc_add(store: Any, texts: list[str], ids: list[str], use_async: bool, **kwargs: Any) -> None:
    if use_async:
        await store.aadd_texts(texts, ids=ids, **kwargs)
    else:
        store.add_texts(texts, ids=ids, **kwargs)


def lc_seen(client: WorkersAI, store: Any, ids: list[str]) -> dict[str, str]:
    """What the store shows for ``ids``, by get and by search (the two must agree), checked against
    the stored vectors."""
    by_id = {d.id: d.page_content for d in store.get_by_ids(ids)}
    vectors = {v.id: v.values for v in client.vectorize.get_by_ids(store.index_name, ids)}
    for vid, values in vectors.items():
        found = store.similarity_search_by_vector(values, k=1)
        assert [(d.id, d.page_content) for d in found] == [(vid, by_id[vid])]
    assert_embedded_from(client, store.index_name, sorted(by_id.items()))
    return by_id


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_langchain_skip_existing_never_changes_a_stored_document(
    client: WorkersAI, database: str, use_async: bool
) -> None:
    store = lc_store(client, database)
    await lc_add(store, ["the old text of a", "the old text of b"], ["a", "b"], use_async)
    before = {v.id: v.values for v in client.vectorize.get_by_ids(store.index_name, ["a", "b"])}

    await lc_add(store, ["a NEW text of a", "the text of c"], ["a", "c"], use_async, skip_existing=True)
    assert lc_seen(client, store, ["a", "b", "c"]) == {
        "a": "the old text of a",
        "b": "the old text of b",
        "c": "the text of c",
    }
    assert client.vectorize.get_by_ids(store.index_name, ["a"])[0].values == before["a"]
    assert rows(client, database, store.index_name) == [
        ("a", "the old text of a"),
        ("b", "the old text of b"),
        ("c", "the text of c"),
    ]


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("failing", ["ai", "vectorize"], ids=["embedding-fails", "vectorize-write-fails"])
async def test_langchain_a_failed_update_changes_nothing_visible(
    client: WorkersAI, emulator: LocalEmulator, database: str, use_async: bool, failing: str
) -> None:
    store = lc_store(client, database)
    await lc_add(store, ["first text of a", "first text of b"], ["a", "b"], use_async)
    emulator.set_faults(error="500", error_rate=1.0, scope=failing)
    with pytest.raises(WorkersAIError):
        await lc_add(store, ["second text of a", "second text of b"], ["a", "b"], use_async)
    emulator.clear_faults()
    assert lc_seen(client, store, ["a", "b"]) == {"a": "first text of a", "b": "first text of b"}

    # The update, once it goes through, is seen whole, and the old versions of what it wrote are gone
    # (a version the failed call wrote for b stays until b is written again: no vector names it).
    await lc_add(store, ["second text of a"], ["a"], use_async)
    assert lc_seen(client, store, ["a", "b"]) == {"a": "second text of a", "b": "first text of b"}
    held = rows(client, database, store.index_name)
    assert [t for i, t in held if i == "a"] == ["second text of a"]
    assert "first text of b" in [t for i, t in held if i == "b"]


def test_langchain_a_write_applied_but_its_answer_lost(
    client: WorkersAI, emulator: LocalEmulator, database: str
) -> None:
    """Vectorize applied the update but every answer was lost: the call raised, the new documents are
    seen whole (each text with its vector), and the next read prunes the old versions."""
    store = lc_store(client, database)
    store.add_texts(["first of a", "first of b"], ids=["a", "b"])
    emulator.set_faults(error="502-after", error_rate=1.0, scope="vectorize")
    with pytest.raises(WorkersAIError):
        store.add_texts(["second of a", "second of b"], ids=["a", "b"])
    emulator.clear_faults()
    client.vectorize.settle(store.index_name)
    assert lc_seen(client, store, ["a", "b"]) == {"a": "second of a", "b": "second of b"}
    assert rows(client, database, store.index_name) == [("a", "second of a"), ("b", "second of b")]


def test_langchain_hash_key_stays_out_of_documents_and_is_reserved(client: WorkersAI, database: str) -> None:
    from langchain_core.documents import Document

    from workersai import BadInput

    store = lc_store(client, database)
    store.add_documents([Document(id="m", page_content="with metadata", metadata={"k": [1, "x"]})])
    stored = client.vectorize.get_by_ids(store.index_name, ["m"])[0]
    assert stored.metadata == {"k": [1, "x"], TEXT_HASH_KEY: text_hash("with metadata")}
    assert store.get_by_ids(["m"]) == [
        Document(id="m", page_content="with metadata", metadata={"k": [1, "x"]})
    ]
    assert store.similarity_search("with metadata", k=1)[0].metadata == {"k": [1, "x"]}
    with pytest.raises(BadInput, match=TEXT_HASH_KEY):
        store.add_texts(["x"], [{TEXT_HASH_KEY: "mine"}])


def test_texts_kept_before_versions_still_read_and_are_replaced(client: WorkersAI, database: str) -> None:
    """A store written by an earlier release: texts in ``vectorize_texts_<index>`` by id, vectors
    without a version. They read as before; an update writes a version and drops the old row."""
    store = lc_store(client, database)
    index = store.index_name
    client.d1.query(
        database, f'CREATE TABLE "vectorize_texts_{index}" (id TEXT PRIMARY KEY, text TEXT NOT NULL)'
    )
    client.d1.query(database, f'INSERT INTO "vectorize_texts_{index}" VALUES (?, ?)', ["old", "an old text"])
    vector = client.embed(model=EMBED, texts=["an old text"])[0]
    client.vectorize.upsert(index, [{"id": "old", "values": vector, "metadata": {"n": 1}}], wait=True)

    assert [(d.id, d.page_content, d.metadata) for d in store.get_by_ids(["old"])] == [
        ("old", "an old text", {"n": 1})
    ]
    store.add_texts(["a newer text"], [{"n": 2}], ids=["old"])
    assert lc_seen(client, store, ["old"]) == {"old": "a newer text"}
    assert rows(client, database, index) == [("old", "a newer text")]


async def test_deferred_writes_prune_old_versions_at_the_next_read(client: WorkersAI, database: str) -> None:
    store = lc_store(client, database, wait="deferred")
    await store.aadd_texts(["v1 of d"], ids=["d"])
    await store.aadd_texts(["v2 of d"], ids=["d"])
    assert [d.page_content for d in await store.aget_by_ids(["d"])] == ["v2 of d"]
    assert rows(client, database, store.index_name) == [("d", "v2 of d")]
    store.add_texts(["v3 of d"], ids=["d"])
    assert lc_seen(client, store, ["d"]) == {"d": "v3 of d"}
    assert rows(client, database, store.index_name) == [("d", "v3 of d")]


def test_a_vector_whose_text_is_gone_is_left_out(client: WorkersAI, database: str) -> None:
    """A vector naming a version D1 no longer holds (a delete under way, with ``wait=False``) is not
    returned at all, rather than with an empty or another text."""
    store = lc_store(client, database)
    store.add_texts(["kept text", "deleted text"], ids=["k", "x"])
    client.d1.query(database, f'DELETE FROM "vectorize_text_versions_{store.index_name}" WHERE id = ?', ["x"])
    assert [d.id for d in store.get_by_ids(["k", "x"])] == ["k"]
    assert [d.id for d in store.similarity_search("deleted text", k=2)] == ["k"]


def test_d1_requests_per_100_documents(logged_client: WorkersAI, request_log: RequestLog) -> None:
    """The cost of versions: adding 100 new documents sends 1 D1 request (their versions, which also
    tells that none had a text before), as before versions; updating them 2 (the versions, then,
    once the vectors are applied, the prune of the old ones); reading a page of results, 1."""
    created = logged_client.d1.create_database(f"cost-{uuid.uuid4().hex[:8]}")
    try:
        store = lc_store(logged_client, created.uuid)
        ids = [f"d{i}" for i in range(100)]

        def requests(texts: list[str]) -> tuple[list[int], list[int]]:
            request_log.requests.clear()
            store.add_texts(texts, ids=ids)
            paths = [r.url.path for r in request_log.requests]
            d1 = [i for i, p in enumerate(paths) if "/d1/database/" in p]
            return d1, [i for i, p in enumerate(paths) if p.endswith("/upsert")]

        d1, upserts = requests([f"document number {i}" for i in range(100)])
        assert len(d1) == 1 and d1[0] < upserts[0]
        d1, upserts = requests([f"document number {i}, second edition" for i in range(100)])
        assert len(d1) == 2 and d1[0] < upserts[0] <= upserts[-1] < d1[1]
        held = rows(logged_client, created.uuid, store.index_name)
        assert len(held) == 100 and held[0] == ("d0", "document number 0, second edition")
        request_log.requests.clear()
        assert len(store.similarity_search("document number 7", k=10)) == 10
        assert sum("/d1/database/" in r.url.path for r in request_log.requests) == 1
    finally:
        logged_client.d1.delete_database(created.uuid)


# -- LlamaIndex ---------------------------------------------------------------------------------------
def li_store(client: WorkersAI, database: str) -> Any:
    from llamaindex_workersai import VectorizeVectorStore

    store = VectorizeVectorStore(f"ver-li-{uuid.uuid4().hex[:8]}", client=client, d1_database_id=database)
    store.create_index(dimensions=384)
    return store


def li_nodes(client: WorkersAI, texts: dict[str, str]) -> list[Any]:
    from llama_index.core.schema import TextNode

    vectors = client.embed(model=EMBED, texts=list(texts.values()))
    return [
        TextNode(id_=i, text=t, embedding=list(v)) for (i, t), v in zip(texts.items(), vectors, strict=True)
    ]


def li_seen(client: WorkersAI, store: Any, ids: list[str]) -> dict[str, str]:
    from llama_index.core.vector_stores.types import VectorStoreQuery

    by_id = {n.node_id: n.get_content() for n in store.get_nodes(ids)}
    for v in client.vectorize.get_by_ids(store.index_name, ids):
        found = store.query(VectorStoreQuery(query_embedding=v.values, similarity_top_k=1))
        assert [(n.node_id, n.get_content()) for n in found.nodes] == [(v.id, by_id[v.id])]
    assert_embedded_from(client, store.index_name, sorted(by_id.items()))
    return by_id


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_llamaindex_skip_existing_and_a_failed_write_change_nothing(
    client: WorkersAI, emulator: LocalEmulator, database: str, use_async: bool
) -> None:
    store = li_store(client, database)

    async def add(nodes: list[Any], **kwargs: Any) -> None:
        if use_async:
            await store.async_add(nodes, **kwargs)
        else:
            store.add(nodes, **kwargs)

    await add(li_nodes(client, {"a": "old node a", "b": "old node b"}))
    await add(li_nodes(client, {"a": "new node a", "c": "node c"}), skip_existing=True)
    assert li_seen(client, store, ["a", "b", "c"]) == {"a": "old node a", "b": "old node b", "c": "node c"}

    emulator.set_faults(error="500", error_rate=1.0, scope="vectorize")
    with pytest.raises(WorkersAIError):
        await add(li_nodes(client, {"a": "newer node a", "b": "newer node b"}))
    emulator.clear_faults()
    assert li_seen(client, store, ["a", "b", "c"]) == {"a": "old node a", "b": "old node b", "c": "node c"}

    await add(li_nodes(client, {"b": "newer node b"}))
    assert li_seen(client, store, ["a", "b", "c"]) == {"a": "old node a", "b": "newer node b", "c": "node c"}
    held = rows(client, database, store.index_name)
    assert [t for i, t in held if i in ("b", "c")] == ["newer node b", "node c"]
