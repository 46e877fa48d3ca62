"""``WorkersAIEmbedding(batch_api=True)``: text embeddings through the Batch API equal the direct
vectors, in order; queries stay direct; an index built with it goes through the Batch API. Over HTTP
against the emulator."""

from __future__ import annotations

import uuid

import pytest
from llama_index.core import StorageContext, VectorStoreIndex
from llama_index.core.schema import TextNode

from llamaindex_workersai import VectorizeVectorStore, WorkersAIEmbedding
from workersai import WorkersAI

from ..conftest import RequestLog

MODEL = "@cf/baai/bge-small-en-v1.5"
TEXTS = [f"note {i}: {'llamas graze' if i % 3 else 'clouds drift'} on day {i}" for i in range(140)]


def _submissions(log: RequestLog) -> int:
    return sum(
        1 for r in log.requests if r.url.params.get("queueRequest") == "true" and b'"requests"' in r.content
    )


def _batch(client: WorkersAI) -> WorkersAIEmbedding:
    return WorkersAIEmbedding(model_name=MODEL, client=client, batch_api=True, batch_poll_interval=0.01)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_batch_api_vectors_equal_the_direct_ones(
    logged_client: WorkersAI, request_log: RequestLog, use_async: bool
) -> None:
    batch, direct = _batch(logged_client), WorkersAIEmbedding(model_name=MODEL, client=logged_client)
    if use_async:
        got = await batch.aget_text_embedding_batch(TEXTS)
    else:
        got = batch.get_text_embedding_batch(TEXTS)
    assert _submissions(request_log) == 1
    assert got == direct.get_text_embedding_batch(TEXTS)
    request_log.requests.clear()
    query = await batch.aget_query_embedding("llamas") if use_async else batch.get_query_embedding("llamas")
    assert query == direct.get_query_embedding("llamas") and _submissions(request_log) == 0


def test_an_index_built_with_it_embeds_through_the_batch_api(
    logged_client: WorkersAI, request_log: RequestLog
) -> None:
    embed_model = _batch(logged_client)
    store = VectorizeVectorStore(f"li-batch-{uuid.uuid4().hex[:8]}", client=logged_client)
    store.create_index(embed_model=embed_model)
    request_log.requests.clear()
    index = VectorStoreIndex(
        [TextNode(text=t, id_=f"d{i}") for i, t in enumerate(TEXTS[:30])],
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=embed_model,
    )
    assert _submissions(request_log) >= 1
    found = index.as_retriever(similarity_top_k=1).retrieve(TEXTS[7])
    assert found[0].node.get_content() == TEXTS[7]
