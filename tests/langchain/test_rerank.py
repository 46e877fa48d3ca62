"""``WorkersAIReranker`` in LangChain: a ContextualCompressionRetriever chain over a Vectorize store,
and the VectorizeRetriever's rerank option, against the emulator."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_classic.retrievers import ContextualCompressionRetriever
from langchain_core.documents import Document
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnablePassthrough

from langchain_workersai import (
    ChatWorkersAI,
    VectorizeRetriever,
    VectorizeVectorStore,
    WorkersAIEmbeddings,
    WorkersAIReranker,
)
from workersai import BadInput, WorkersAI
from workersai.local import LocalEmulator

from ..conftest import RequestLog
from ..rerank_corpus import FACT, QUESTION, TEXTS


@pytest.fixture
def conn(emulator: LocalEmulator) -> dict[str, Any]:
    return {"account_id": emulator.account_id, "api_key": emulator.token, "base_url": emulator.base_url}


@pytest.fixture(scope="module")
def store(emulator: LocalEmulator) -> Iterator[VectorizeVectorStore]:
    conn = {"account_id": emulator.account_id, "api_key": emulator.token, "base_url": emulator.base_url}
    embeddings = WorkersAIEmbeddings(model="@cf/baai/bge-small-en-v1.5", **conn)
    s = VectorizeVectorStore(f"rr-{uuid.uuid4().hex[:10]}", embeddings, **conn)
    s.create_index()
    s.add_documents([Document(page_content=t, metadata={"n": i}) for i, t in enumerate(TEXTS)])
    yield s
    s.client.vectorize.delete_index(s.index_name)


def _check(docs: list[Document], count: int) -> None:
    assert len(docs) == count
    assert docs[0].page_content == FACT and docs[0].metadata["n"] == TEXTS.index(FACT)
    scores = [d.metadata["relevance_score"] for d in docs]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[-1]


def test_contextual_compression_chain_answers_from_the_best_document(
    store: VectorizeVectorStore, conn: dict[str, Any]
) -> None:
    retriever = ContextualCompressionRetriever(
        base_compressor=WorkersAIReranker(top_n=2, **conn),
        base_retriever=store.as_retriever(search_kwargs={"k": len(TEXTS)}),
    )
    _check(retriever.invoke(QUESTION), 2)

    prompt = ChatPromptTemplate.from_messages(
        [("system", "Answer from this context only:\n{context}"), ("human", "{question}")]
    )
    context = retriever | (lambda docs: "\n".join(d.page_content for d in docs))
    chain = (
        {"context": context, "question": RunnablePassthrough()}
        | prompt
        | ChatWorkersAI(**conn)
        | StrOutputParser()
    )
    assert "smoked herring" in chain.invoke(QUESTION)


async def test_contextual_compression_async(store: VectorizeVectorStore, conn: dict[str, Any]) -> None:
    retriever = ContextualCompressionRetriever(
        base_compressor=WorkersAIReranker(top_n=3, **conn),
        base_retriever=store.as_retriever(search_kwargs={"k": len(TEXTS)}),
    )
    _check(await retriever.ainvoke(QUESTION), 3)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_retriever_reranks_fetch_k_candidates(
    store: VectorizeVectorStore, logged_client: WorkersAI, request_log: RequestLog, use_async: bool
) -> None:
    reranker = WorkersAIReranker(client=logged_client, top_n=None)
    retriever = VectorizeRetriever(vectorstore=store, k=2, fetch_k=5, reranker=reranker)
    docs = await retriever.ainvoke(QUESTION) if use_async else retriever.invoke(QUESTION)
    _check(docs, 2)
    (request,) = request_log.requests  # one rerank request, over the 5 candidates read from the index
    body = json.loads(request.content)
    assert len(body["contexts"]) == 5 and body["top_k"] == 2
    # k given per call wins over the retriever's
    assert len(retriever.invoke(QUESTION, k=1)) == 1


def test_without_a_reranker_the_retriever_reads_k(store: VectorizeVectorStore) -> None:
    docs = VectorizeRetriever(vectorstore=store, k=2, fetch_k=5).invoke(QUESTION)
    assert len(docs) == 2 and "relevance_score" not in docs[0].metadata


def test_no_documents_make_no_request(logged_client: WorkersAI, request_log: RequestLog) -> None:
    assert WorkersAIReranker(client=logged_client).compress_documents([], QUESTION) == []
    with pytest.raises(BadInput):
        WorkersAIReranker(client=logged_client).compress_documents([Document(page_content="")], QUESTION)
    assert request_log.requests == []
