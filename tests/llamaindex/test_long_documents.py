"""Long documents in the LlamaIndex store: a 50 KB Japanese text (no spaces, so one node) kept whole in
D1 with ``d1_database_id``, refused clearly without it. Over HTTP against the emulator."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.node_parser import SentenceSplitter
from llama_index.core.vector_stores.types import VectorStoreQuery

from llamaindex_workersai import VectorizeVectorStore, WorkersAIEmbedding
from workersai import WorkersAI
from workersai.vectorize import TextTooLong

from ..conftest import RequestLog

JAPANESE = "吾輩は猫である名前はまだ無いどこで生れたかとんと見当がつかぬ" * 560  # no spaces, ~50 KB


@pytest.fixture
def embed_model(logged_client: WorkersAI) -> WorkersAIEmbedding:
    return WorkersAIEmbedding(model_name="@cf/baai/bge-small-en-v1.5", client=logged_client)


@pytest.fixture
def database(logged_client: WorkersAI) -> Iterator[str]:
    created = logged_client.d1.create_database(f"li-{uuid.uuid4().hex[:8]}")
    yield created.uuid
    logged_client.d1.delete_database(created.uuid)


def _rows(client: WorkersAI, database: str, store: VectorizeVectorStore) -> dict[str, str]:
    found = client.d1.query(database, f'SELECT id, text FROM "vectorize_text_versions_{store.index_name}"')
    return {row["id"]: row["text"] for row in found[0].results}


def _store(client: WorkersAI, embed_model: WorkersAIEmbedding, database: str | None) -> VectorizeVectorStore:
    store = VectorizeVectorStore(f"li-long-{uuid.uuid4().hex[:8]}", client=client, d1_database_id=database)
    store.create_index(embed_model=embed_model)
    return store


def test_a_50kb_japanese_document_is_kept_whole_in_d1(
    logged_client: WorkersAI, embed_model: WorkersAIEmbedding, database: str
) -> None:
    assert len(JAPANESE.encode()) > 50_000 and " " not in JAPANESE
    store = _store(logged_client, embed_model, database)
    index = VectorStoreIndex.from_documents(
        [Document(text=JAPANESE, id_="neko")],
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=embed_model,
    )
    found = index.as_retriever(similarity_top_k=1).retrieve("猫")
    assert len(found) == 1 and found[0].node.get_content() == JAPANESE  # one node, text whole
    node_id = found[0].node.node_id
    assert _rows(logged_client, database, store) == {node_id: JAPANESE}
    assert store.get_nodes([node_id])[0].get_content() == JAPANESE
    stored = logged_client.vectorize.get_by_ids(store.index_name, [node_id])[0]
    assert len(json.dumps(stored.metadata)) < 10_240  # the text is not in Vectorize metadata
    index.delete_ref_doc("neko")
    assert _rows(logged_client, database, store) == {}
    assert list(logged_client.vectorize.list_ids(store.index_name)) == []


async def test_the_async_twins_keep_and_delete_the_text_in_d1(
    logged_client: WorkersAI, embed_model: WorkersAIEmbedding, database: str
) -> None:
    store = _store(logged_client, embed_model, database)
    nodes = SentenceSplitter().get_nodes_from_documents([Document(text=JAPANESE, id_="neko")])
    assert len(nodes) == 1
    nodes[0].embedding = await embed_model.aget_text_embedding(JAPANESE)
    await store.async_add(nodes)
    query = VectorStoreQuery(query_embedding=nodes[0].embedding, similarity_top_k=1)
    result = await store.aquery(query)
    assert result.nodes is not None and result.nodes[0].get_content() == JAPANESE
    assert (await store.aget_nodes([nodes[0].node_id]))[0].get_content() == JAPANESE
    await store.adelete("neko")
    assert _rows(logged_client, database, store) == {}


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_without_d1_a_long_node_is_refused_naming_it_before_any_write(
    logged_client: WorkersAI, embed_model: WorkersAIEmbedding, request_log: RequestLog, use_async: bool
) -> None:
    store = _store(logged_client, embed_model, None)
    nodes = SentenceSplitter().get_nodes_from_documents(
        [Document(text="短い", id_="a"), Document(text=JAPANESE)]
    )
    request_log.requests.clear()
    # check_nodes refuses before any embedding is paid for ...
    with pytest.raises(TextTooLong) as caught:
        store.check_nodes(nodes)
    assert request_log.requests == []
    message = str(caught.value)
    assert caught.value.vector_id == nodes[1].node_id and caught.value.position == 1
    assert f"{len(JAPANESE.encode()):,} bytes" in message and "10 KiB" in message
    assert "chunk_size" in message and "d1_database_id=" in message
    # ... and add refuses the same node before writing anything.
    for node in nodes:
        node.embedding = [0.1] * 384
    with pytest.raises(TextTooLong, match=nodes[1].node_id):
        if use_async:
            await store.async_add(nodes)
        else:
            store.add(nodes)
    assert request_log.requests == []
    assert list(logged_client.vectorize.list_ids(store.index_name)) == []
