"""A dimension mismatch names both dimensions and both fixes, before anything is embedded wherever the
index's dimensions are known (issue #28, item 4): the core's writes and ingestion path
(``IndexDocuments``), both stores' ``create_index`` / ``from_texts`` / ``add_texts``."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from langchain_workersai import VectorizeVectorStore as LangChainStore
from langchain_workersai import WorkersAIEmbeddings
from llamaindex_workersai import VectorizeVectorStore as LlamaIndexStore
from llamaindex_workersai import WorkersAIEmbedding
from workersai import BadInput, DimensionMismatch, WorkersAI
from workersai.vectorize import IndexDocuments

from .conftest import RequestLog

BASE = "@cf/baai/bge-base-en-v1.5"  # 768 dimensions (catalog)


def _small_index(client: WorkersAI) -> str:
    name = f"dims-{uuid.uuid4().hex[:8]}"
    client.vectorize.create_index(name, dimensions=384, metric="cosine")
    return name


def _names_both(exc: pytest.ExceptionInfo[DimensionMismatch]) -> None:
    message = str(exc.value)
    assert "384 dimensions" in message and "768" in message, message
    assert "use an embedding model of 384 dimensions" in message, message
    assert "create the index with 768 dimensions" in message, message


def _embedded(log: RequestLog) -> list[str]:
    return [str(r.url) for r in log.requests if "/ai/run/" in str(r.url)]


def test_core_write_names_both_fixes(client: WorkersAI) -> None:
    name = _small_index(client)
    with pytest.raises(DimensionMismatch) as exc:
        client.vectorize.upsert(name, [{"id": "a", "values": [0.5] * 768}])
    _names_both(exc)
    assert isinstance(exc.value, BadInput)  # still a BadInput, as before
    with pytest.raises(DimensionMismatch) as exc:
        IndexDocuments(client.vectorize, name, None).check_embedding(BASE)
    _names_both(exc)
    IndexDocuments(client.vectorize, name, None).check_embedding("@cf/baai/bge-small-en-v1.5")  # fits


def test_langchain_from_texts_and_add_texts_refuse_before_embedding(
    logged_client: WorkersAI, request_log: RequestLog
) -> None:
    name = _small_index(logged_client)
    embeddings = WorkersAIEmbeddings(model=BASE, client=logged_client)
    with pytest.raises(DimensionMismatch) as exc:
        LangChainStore.from_texts(["a text"], embeddings, index_name=name, client=logged_client)
    _names_both(exc)
    store = LangChainStore(name, embeddings, client=logged_client)
    with pytest.raises(DimensionMismatch) as exc:
        store.add_texts(["a text"])
    _names_both(exc)
    with pytest.raises(DimensionMismatch):
        asyncio.run(store.aadd_texts(["a text"]))
    assert _embedded(request_log) == []


def test_llamaindex_create_index_refuses_an_index_of_other_dimensions(
    logged_client: WorkersAI, request_log: RequestLog
) -> None:
    name = _small_index(logged_client)
    store = LlamaIndexStore(name, client=logged_client)
    model = WorkersAIEmbedding(model_name=BASE, client=logged_client)
    with pytest.raises(DimensionMismatch) as exc:
        store.create_index(embed_model=model)
    _names_both(exc)
    with pytest.raises(DimensionMismatch):
        asyncio.run(store.acreate_index(embed_model=model))
    assert _embedded(request_log) == []
