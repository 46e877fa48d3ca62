"""No silent wrong results (issue #28, item 5): a misspelt keyword is a ``TypeError`` naming the likely
one, never dropped; NaN in metadata is ``BadInput`` before any request, never stored as ``null``;
oversized metadata is named as such; one ``client=`` keyword; adapters close the clients they build."""

from __future__ import annotations

import asyncio
import math
import os
import subprocess
import sys
import textwrap
import uuid
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from workersai import BadInput, MetadataTooLarge, WorkersAI
from workersai.local import LocalEmulator
from workersai.vectorize import TextTooLong

from .conftest import RequestLog

EMBED = "@cf/baai/bge-small-en-v1.5"


@pytest.fixture
def conn(emulator: LocalEmulator) -> dict[str, Any]:
    return {"account_id": emulator.account_id, "api_key": emulator.token, "base_url": emulator.base_url}


# -- misspelt keywords --------------------------------------------------------------------------------
def _lc_store(conn: dict[str, Any], **extra: Any) -> Any:
    from langchain_workersai import VectorizeVectorStore, WorkersAIEmbeddings

    return VectorizeVectorStore("kw-probe", WorkersAIEmbeddings(model=EMBED, **conn), **conn, **extra)


def _li_store(conn: dict[str, Any], **extra: Any) -> Any:
    from llamaindex_workersai import VectorizeVectorStore

    return VectorizeVectorStore("kw-probe", **conn, **extra)


def _node() -> Any:
    from llama_index.core.schema import TextNode

    return TextNode(text="a", embedding=[0.1] * 4)


def _query() -> Any:
    from llama_index.core.vector_stores.types import VectorStoreQuery

    return VectorStoreQuery(query_embedding=[0.1] * 4)


def _lc_retriever(conn: dict[str, Any], **extra: Any) -> Any:
    from langchain_workersai import VectorizeRetriever

    return VectorizeRetriever(vectorstore=_lc_store(conn), **extra)


def _li_llm(conn: dict[str, Any]) -> Any:
    from llamaindex_workersai import WorkersAI as LlamaLLM

    return LlamaLLM(max_retries=0, **conn)


def _li_messages() -> Any:
    from llama_index.core.base.llms.types import ChatMessage

    return [ChatMessage(role="user", content="hi")]


def _li_embedding(conn: dict[str, Any]) -> Any:
    from llamaindex_workersai import WorkersAIEmbedding

    return WorkersAIEmbedding(model_name=EMBED, **conn)


Call = Callable[[dict[str, Any]], Any]
CASES: dict[str, tuple[Call, str | None]] = {
    # LangChain vector store
    "lc-store-init": (lambda c: _lc_store(c, namepsace="x"), "namespace"),
    "lc-add_texts": (lambda c: _lc_store(c).add_texts(["a"], metadata=[{"a": 1}]), "metadatas"),
    "lc-aadd_texts": (
        lambda c: asyncio.run(_lc_store(c).aadd_texts(["a"], metadata=[{"a": 1}])),
        "metadatas",
    ),
    "lc-add_documents": (lambda c: _lc_store(c).add_documents([], skip_existng=True), "skip_existing"),
    "lc-similarity_search": (lambda c: _lc_store(c).similarity_search("a", filters={"a": 1}), "filter"),
    "lc-asimilarity_search": (
        lambda c: asyncio.run(_lc_store(c).asimilarity_search("a", filters={"a": 1})),
        "filter",
    ),
    "lc-similarity_search_with_score": (
        lambda c: _lc_store(c).similarity_search_with_score("a", filters={"a": 1}),
        "filter",
    ),
    "lc-similarity_search_by_vector": (
        lambda c: _lc_store(c).similarity_search_by_vector([0.1], filters={"a": 1}),
        "filter",
    ),
    "lc-max_marginal_relevance_search": (
        lambda c: _lc_store(c).max_marginal_relevance_search("a", filters={"a": 1}),
        "filter",
    ),
    "lc-delete": (lambda c: _lc_store(c).delete(["a"], namespace="x"), None),
    # LangChain retriever, chat model, AI Search
    "lc-retriever-init": (lambda c: _lc_retriever(c, filters={"a": 1}), "filter"),
    "lc-retriever-invoke": (lambda c: _lc_retriever(c).invoke("a", filters={"a": 1}), "filter"),
    "lc-chat-invoke": (
        lambda c: __import__("langchain_workersai").ChatWorkersAI(**c).invoke("hi", temprature=0),
        "temperature",
    ),
    "lc-ai-search-invoke": (
        lambda c: (
            __import__("langchain_workersai").AISearchRetriever(instance="x", **c).invoke("q", filter={})
        ),
        "filters",
    ),
    # LlamaIndex vector store
    "li-store-init": (lambda c: _li_store(c, namepsace="x"), "namespace"),
    "li-add": (lambda c: _li_store(c).add([_node()], skip_existng=True), "skip_existing"),
    "li-async_add": (
        lambda c: asyncio.run(_li_store(c).async_add([_node()], skip_existng=True)),
        "skip_existing",
    ),
    "li-delete": (lambda c: _li_store(c).delete("doc", namespace="x"), None),
    "li-delete_nodes": (lambda c: _li_store(c).delete_nodes(["a"], filter=None), "filters"),
    "li-query": (lambda c: _li_store(c).query(_query(), filter={}), None),
    "li-aquery": (lambda c: asyncio.run(_li_store(c).aquery(_query(), filter={})), None),
    # LlamaIndex LLM, retrievers, AI Search
    "li-llm-chat": (lambda c: _li_llm(c).chat(_li_messages(), temprature=0), "temperature"),
    "li-llm-complete": (lambda c: _li_llm(c).complete("hi", temprature=0), "temperature"),
    "li-llm-stream_chat": (lambda c: _li_llm(c).stream_chat(_li_messages(), temprature=0), "temperature"),
    "li-retriever-init": (
        lambda c: __import__("llamaindex_workersai").VectorizeRetriever(
            _li_store(c), _li_embedding(c), filter=None
        ),
        "filters",
    ),
    "li-ai-search-retriever": (
        lambda c: __import__("llamaindex_workersai").AISearchRetriever("x", filter={}, **c),
        "filters",
    ),
    "li-ai-search-query-engine": (
        lambda c: __import__("llamaindex_workersai").AISearchQueryEngine("x", filter={}, **c),
        "filters",
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_misspelt_keyword_is_a_type_error_naming_the_likely_one(conn: dict[str, Any], case: str) -> None:
    call, suggestion = CASES[case]
    with pytest.raises(TypeError, match="unknown keyword arguments") as caught:
        call(conn)
    if suggestion is not None:
        assert f"did you mean {suggestion!r}?" in str(caught.value)
    assert conn["api_key"] not in str(caught.value)


def test_a_client_and_connection_settings_together_are_refused(
    client: WorkersAI, conn: dict[str, Any]
) -> None:
    from langchain_workersai import VectorizeVectorStore, WorkersAIEmbeddings
    from llamaindex_workersai import VectorizeVectorStore as LlamaStore

    embedding = WorkersAIEmbeddings(model=EMBED, client=client)
    with pytest.raises(TypeError, match="not both"):
        VectorizeVectorStore("kw-probe", embedding, client=client, base_url=conn["base_url"])
    with pytest.raises(TypeError, match="not both"):
        LlamaStore("kw-probe", client=client, base_url=conn["base_url"])


def test_the_frameworks_own_keywords_still_pass(emulator: LocalEmulator, conn: dict[str, Any]) -> None:
    """What LangChain passes by convention is taken: ``index()`` gives ``add_documents`` a ``batch_size``,
    a ``similarity_score_threshold`` retriever a ``score_threshold``."""
    from langchain_core.documents import Document
    from langchain_core.indexing import InMemoryRecordManager, index

    from langchain_workersai import VectorizeVectorStore, WorkersAIEmbeddings

    store = VectorizeVectorStore(
        f"kw-{uuid.uuid4().hex[:8]}", WorkersAIEmbeddings(model=EMBED, **conn), **conn
    )
    store.create_index()
    manager = InMemoryRecordManager("kw")
    manager.create_schema()
    docs = [Document(page_content=f"text {i}", metadata={"source": f"s{i}"}) for i in range(3)]
    assert index(docs, manager, store, cleanup=None, batch_size=2)["num_added"] == 3
    retriever = store.as_retriever(
        search_type="similarity_score_threshold", search_kwargs={"score_threshold": 0.0}
    )
    assert retriever.invoke("text 1")


# -- NaN and infinity in metadata ----------------------------------------------------------------
BAD_NUMBERS = [float("nan"), float("inf"), -math.inf]


@pytest.mark.parametrize("value", BAD_NUMBERS, ids=["nan", "inf", "-inf"])
def test_a_non_finite_number_in_metadata_is_refused_before_any_request(
    logged_client: WorkersAI, request_log: RequestLog, value: float
) -> None:
    for metadata in ({"score": value}, {"nested": {"scores": [1.0, value]}}):
        before = len(request_log.requests)
        with pytest.raises(BadInput, match="JSON cannot carry"):
            logged_client.vectorize.upsert(
                "nan-probe", [{"id": "a", "values": [0.1] * 4, "metadata": metadata}]
            )
        assert len(request_log.requests) == before  # nothing was sent


def test_numpy_nan_and_the_stores_refuse_it_too(client: WorkersAI) -> None:
    import numpy as np
    from llama_index.core.schema import TextNode

    from langchain_workersai import VectorizeVectorStore, WorkersAIEmbeddings
    from llamaindex_workersai import VectorizeVectorStore as LlamaStore

    with pytest.raises(BadInput, match="JSON cannot carry"):
        client.vectorize.upsert(
            "nan-probe", [{"id": "a", "values": [0.1], "metadata": {"x": np.float32("nan")}}]
        )
    store = VectorizeVectorStore("nan-probe", WorkersAIEmbeddings(model=EMBED, client=client), client=client)
    with pytest.raises(BadInput, match="JSON cannot carry"):
        store.add_texts(["a"], metadatas=[{"score": float("nan")}])
    with pytest.raises(BadInput, match="JSON cannot carry"):
        LlamaStore("nan-probe", client=client).add(
            [TextNode(text="a", embedding=[0.1], metadata={"s": math.inf})]
        )


# -- oversized metadata is named as metadata -----------------------------------------------------
def test_oversized_metadata_is_metadata_too_large_not_text_too_long(client: WorkersAI) -> None:
    from langchain_workersai import VectorizeVectorStore, WorkersAIEmbeddings

    store = VectorizeVectorStore("big-probe", WorkersAIEmbeddings(model=EMBED, client=client), client=client)
    with pytest.raises(MetadataTooLarge, match="metadata") as caught:
        store.add_texts(["a short text"], metadatas=[{"blob": "x" * 11_000}])
    assert not isinstance(caught.value, TextTooLong) and "without its text" in str(caught.value)
    with pytest.raises(TextTooLong):  # a long text with small metadata is still the text's fault
        store.add_texts(["y" * 11_000], metadatas=[{"a": 1}])
    with pytest.raises(MetadataTooLarge):  # the core's own check
        client.vectorize.upsert("big-probe", [{"id": "a", "values": [0.1], "metadata": {"b": "x" * 11_000}}])


# -- one client keyword ---------------------------------------------------------------------------
def test_client_is_the_one_keyword_and_workers_ai_a_deprecated_alias(client: WorkersAI) -> None:
    from llamaindex_workersai import AISearchQueryEngine, AISearchRetriever, VectorizeVectorStore

    assert VectorizeVectorStore("kw-probe", client=client).client is client
    assert AISearchRetriever("x", client=client).ai_search.client is client
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)  # client= warns nothing
        AISearchQueryEngine("x", client=client)
    for build in (
        lambda: VectorizeVectorStore("kw-probe", workers_ai=client),
        lambda: AISearchRetriever("x", workers_ai=client),
        lambda: AISearchQueryEngine("x", workers_ai=client),
    ):
        with pytest.warns(DeprecationWarning, match="client="):
            build()
    with pytest.warns(DeprecationWarning), pytest.raises(TypeError, match="both"):
        VectorizeVectorStore("kw-probe", client=client, workers_ai=client.with_options())


# -- the clients an adapter builds are closed --------------------------------------------------------
SCRIPT = """
import asyncio, gc, os, sys, uuid
from langchain_workersai import ChatWorkersAI, VectorizeVectorStore, WorkersAIEmbeddings, WorkersAIReranker
from llamaindex_workersai import WorkersAI, WorkersAIEmbedding, VectorizeVectorStore as LlamaStore

conn = {"account_id": os.environ["ACCOUNT"], "api_key": os.environ["TOKEN"], "base_url": os.environ["BASE"]}
def used():
    ChatWorkersAI(max_tokens=3, **conn).invoke("hi")
    asyncio.run(ChatWorkersAI(max_tokens=3, **conn).ainvoke("hi"))
    WorkersAI(max_tokens=3, **conn).complete("hi")
    WorkersAIEmbedding(model_name="@cf/baai/bge-small-en-v1.5", **conn).get_text_embedding("a")
    WorkersAIReranker(**conn).workers_ai.rerank("q", ["a", "b"])
    name = "rw-" + uuid.uuid4().hex[:8]
    embeddings = WorkersAIEmbeddings(model="@cf/baai/bge-small-en-v1.5", **conn)
    store = VectorizeVectorStore(name, embeddings, **conn)
    store.create_index()
    store.add_texts(["a"])
    LlamaStore(name, **conn).client.vectorize.delete_index(name)
used()
gc.collect()
print("collected", flush=True)
KEPT = ChatWorkersAI(max_tokens=3, **conn)  # alive until the interpreter exits
KEPT.invoke("hi")
"""


def test_adapters_close_the_clients_they_build(emulator: LocalEmulator) -> None:
    """Run in a child process, so the check sees its own sockets, not the emulator's (it serves from
    this process), and the interpreter's exit too."""
    env = {
        **os.environ,
        "ACCOUNT": emulator.account_id,
        "TOKEN": emulator.token,
        "BASE": emulator.base_url,
        "PYTHONPATH": str(Path(__file__).resolve().parent.parent),
    }
    done = subprocess.run(
        [sys.executable, "-W", "error::ResourceWarning", "-c", textwrap.dedent(SCRIPT)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "collected" in done.stdout
    assert "ResourceWarning" not in done.stderr and "unclosed" not in done.stderr, done.stderr[-2000:]
