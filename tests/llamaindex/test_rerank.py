"""``WorkersAIRerank`` in LlamaIndex: a query engine with the reranker as node postprocessor over a
Vectorize store, and the VectorizeRetriever's rerank option, against the emulator."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core import Document, StorageContext, VectorStoreIndex
from llama_index.core.schema import NodeWithScore, QueryBundle

from llamaindex_workersai import (
    VectorizeRetriever,
    VectorizeVectorStore,
    WorkersAI,
    WorkersAIEmbedding,
    WorkersAIRerank,
)
from workersai import WorkersAI as Client
from workersai.local import LocalEmulator

from ..conftest import RequestLog
from ..rerank_corpus import FACT, QUESTION, TEXTS


@pytest.fixture
def conn(emulator: LocalEmulator) -> dict[str, Any]:
    return {"account_id": emulator.account_id, "api_key": emulator.token, "base_url": emulator.base_url}


@pytest.fixture
def embed(conn: dict[str, Any]) -> WorkersAIEmbedding:
    return WorkersAIEmbedding(model_name="@cf/baai/bge-small-en-v1.5", **conn)


@pytest.fixture
def index(conn: dict[str, Any], embed: WorkersAIEmbedding) -> Iterator[VectorStoreIndex]:
    store = VectorizeVectorStore(f"rr-{uuid.uuid4().hex[:10]}", **conn)
    store.create_index(384)
    docs = [Document(text=t, id_=f"d{i}", metadata={"n": i}) for i, t in enumerate(TEXTS)]
    yield VectorStoreIndex.from_documents(
        docs, storage_context=StorageContext.from_defaults(vector_store=store), embed_model=embed
    )
    store.client.vectorize.delete_index(store.index_name)


def _check(nodes: list[NodeWithScore], count: int) -> None:
    assert len(nodes) == count
    assert nodes[0].node.get_content() == FACT
    scores = [n.score for n in nodes]
    assert all(s is not None and 0.0 <= s <= 1.0 for s in scores)
    assert scores == sorted(scores, reverse=True)  # type: ignore[type-var]


def test_query_engine_with_the_reranker(index: VectorStoreIndex, conn: dict[str, Any]) -> None:
    engine = index.as_query_engine(
        llm=WorkersAI(max_tokens=60, **conn),
        similarity_top_k=len(TEXTS),
        node_postprocessors=[WorkersAIRerank(top_n=1, **conn)],
    )
    response = engine.query(QUESTION)
    _check(response.source_nodes, 1)
    assert "smoked herring" in str(response)


async def test_query_engine_async(index: VectorStoreIndex, conn: dict[str, Any]) -> None:
    engine = index.as_query_engine(
        llm=WorkersAI(max_tokens=60, **conn),
        similarity_top_k=len(TEXTS),
        node_postprocessors=[WorkersAIRerank(top_n=2, **conn)],
    )
    response = await engine.aquery(QUESTION)
    _check(response.source_nodes, 2)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_retriever_reranks_fetch_k_candidates(
    index: VectorStoreIndex,
    embed: WorkersAIEmbedding,
    logged_client: Client,
    request_log: RequestLog,
    use_async: bool,
) -> None:
    store = index.vector_store
    assert isinstance(store, VectorizeVectorStore)
    reranker = WorkersAIRerank(client=logged_client, top_n=None)
    retriever = VectorizeRetriever(store, embed, similarity_top_k=2, fetch_k=5, reranker=reranker)
    nodes = await retriever.aretrieve(QUESTION) if use_async else retriever.retrieve(QUESTION)
    _check(nodes, 2)
    (request,) = request_log.requests  # one rerank request, over the 5 candidates read from the index
    body = json.loads(request.content)
    assert len(body["contexts"]) == 5 and body["top_k"] == 2


def test_retriever_refuses_a_fetch_k_over_the_topk_ceiling(
    index: VectorStoreIndex, embed: WorkersAIEmbedding
) -> None:
    store = index.vector_store
    assert isinstance(store, VectorizeVectorStore)
    with pytest.raises(ValueError, match="fetch_k"):
        VectorizeRetriever(store, embed, fetch_k=51)


def test_the_postprocessor_needs_the_query(logged_client: Client, request_log: RequestLog) -> None:
    rerank = WorkersAIRerank(client=logged_client)
    assert rerank.postprocess_nodes([], QueryBundle(QUESTION)) == []
    with pytest.raises(ValueError, match="query"):
        rerank.postprocess_nodes([NodeWithScore(node=Document(text="x"))])
    assert request_log.requests == []
