"""``WorkersAIEmbeddings(batch_api=True)``: documents embedded through the Batch API equal the direct
vectors, in order; queries stay direct; the store's bulk add goes through the Batch API. Over HTTP
against the emulator."""

from __future__ import annotations

import uuid

import pytest

from langchain_workersai import VectorizeVectorStore, WorkersAIEmbeddings
from workersai import WorkersAI

from ..conftest import RequestLog

MODEL = "@cf/baai/bge-small-en-v1.5"
TEXTS = [f"note {i}: {'llamas graze' if i % 3 else 'clouds drift'} on day {i}" for i in range(140)]


def _submissions(log: RequestLog) -> int:
    return sum(
        1 for r in log.requests if r.url.params.get("queueRequest") == "true" and b'"requests"' in r.content
    )


def _batch(client: WorkersAI) -> WorkersAIEmbeddings:
    return WorkersAIEmbeddings(model=MODEL, client=client, batch_api=True, batch_poll_interval=0.01)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_batch_api_vectors_equal_the_direct_ones(
    logged_client: WorkersAI, request_log: RequestLog, use_async: bool
) -> None:
    batch, direct = _batch(logged_client), WorkersAIEmbeddings(model=MODEL, client=logged_client)
    got = await batch.aembed_documents(TEXTS) if use_async else batch.embed_documents(TEXTS)
    assert _submissions(request_log) == 1
    assert got == direct.embed_documents(TEXTS)
    request_log.requests.clear()
    query = await batch.aembed_query("llamas") if use_async else batch.embed_query("llamas")
    assert query == direct.embed_query("llamas") and _submissions(request_log) == 0


def test_the_store_bulk_add_goes_through_the_batch_api(
    logged_client: WorkersAI, request_log: RequestLog
) -> None:
    store = VectorizeVectorStore(
        f"lc-batch-{uuid.uuid4().hex[:8]}", _batch(logged_client), client=logged_client
    )
    store.create_index()
    ids = [f"n{i}" for i in range(len(TEXTS))]
    request_log.requests.clear()
    assert store.add_texts(TEXTS, ids=ids) == ids
    assert _submissions(request_log) >= 1
    found = store.similarity_search(TEXTS[7], k=1)
    assert found[0].page_content == TEXTS[7]
