"""Incremental ingestion (#18 item 3): LangChain's indexing API with a record manager and LlamaIndex's
IngestionPipeline with a docstore, over the Vectorize stores, work as their docs promise: a re-run over
an unchanged corpus embeds and writes nothing, and a changed document replaces its old chunks."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from workersai import WorkersAI
from workersai.local import LocalEmulator

from .conftest import RequestLog

EMBED = "@cf/baai/bge-small-en-v1.5"
CORPUS = {
    "ferry.md": "The Zorblax 9 is a ferry built in Vashti in 2011.",
    "lighthouse.md": "Quillon Bay's lighthouse keeper is Marta Oyelaran.",
    "valves.md": "The flurbostat valve is set to 7 in winter.",
}


def kinds(log: RequestLog) -> dict[str, int]:
    """How many embedding calls and Vectorize writes/deletes the log holds."""
    out = {"embed": 0, "write": 0, "delete": 0}
    for r in log.requests:
        path = r.url.path
        if "/ai/run/" in path:
            out["embed"] += 1
        elif path.endswith(("/upsert", "/insert")):
            out["write"] += 1
        elif path.endswith("/delete_by_ids"):
            out["delete"] += 1
    return out


@pytest.fixture
def logged(emulator: LocalEmulator, request_log: RequestLog) -> Iterator[WorkersAI]:
    http = httpx.Client(timeout=60, event_hooks={"request": [request_log]})
    with emulator.client(http_client=http) as client:
        yield client
    http.close()


def test_langchain_index_api_skips_unchanged_and_replaces_changed(
    logged: WorkersAI, request_log: RequestLog
) -> None:
    from langchain_core.documents import Document
    from langchain_core.indexing import InMemoryRecordManager, index

    from langchain_workersai import VectorizeVectorStore, WorkersAIEmbeddings

    name = f"inc-lc-{uuid.uuid4().hex[:8]}"
    store = VectorizeVectorStore(name, WorkersAIEmbeddings(model=EMBED, client=logged), client=logged)
    store.create_index()
    records = InMemoryRecordManager(namespace=f"vectorize/{name}")
    records.create_schema()

    def docs(corpus: dict[str, str]) -> list[Document]:
        return [Document(page_content=t, metadata={"source": s}) for s, t in corpus.items()]

    first = index(
        docs(CORPUS), records, store, cleanup="incremental", source_id_key="source", key_encoder="sha256"
    )
    assert (first["num_added"], first["num_skipped"]) == (3, 0)

    request_log.requests.clear()
    again = index(
        docs(CORPUS), records, store, cleanup="incremental", source_id_key="source", key_encoder="sha256"
    )
    assert (again["num_added"], again["num_skipped"], again["num_deleted"]) == (0, 3, 0)
    assert kinds(request_log) == {"embed": 0, "write": 0, "delete": 0}  # nothing embedded or written

    request_log.requests.clear()
    changed = {**CORPUS, "valves.md": "The flurbostat valve is set to 9 in summer."}
    third = index(
        docs(changed), records, store, cleanup="incremental", source_id_key="source", key_encoder="sha256"
    )
    assert (third["num_added"], third["num_skipped"], third["num_deleted"]) == (1, 2, 1)
    assert kinds(request_log)["embed"] == 1  # only the changed document is embedded
    found = store.similarity_search("flurbostat valve setting", k=3)
    texts = [d.page_content for d in found]
    assert changed["valves.md"] in texts and CORPUS["valves.md"] not in texts  # the old chunk is gone

    only_ferry = docs({"ferry.md": CORPUS["ferry.md"]})
    full = index(only_ferry, records, store, cleanup="full", source_id_key="source", key_encoder="sha256")
    assert full["num_deleted"] == 2
    assert {d.page_content for d in store.similarity_search("anything", k=5)} == {CORPUS["ferry.md"]}
    logged.vectorize.delete_index(name)


def test_llamaindex_ingestion_pipeline_skips_unchanged_and_replaces_changed(
    logged: WorkersAI, request_log: RequestLog
) -> None:
    from llama_index.core import Document
    from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
    from llama_index.core.node_parser import SentenceSplitter
    from llama_index.core.storage.docstore import SimpleDocumentStore

    from llamaindex_workersai import VectorizeVectorStore, WorkersAIEmbedding

    name = f"inc-li-{uuid.uuid4().hex[:8]}"
    embed = WorkersAIEmbedding(model_name=EMBED, client=logged)
    store = VectorizeVectorStore(name, client=logged)
    store.create_index(embed_model=embed)
    docstore = SimpleDocumentStore()

    def pipeline() -> IngestionPipeline:
        return IngestionPipeline(
            transformations=[SentenceSplitter(chunk_size=128, chunk_overlap=0), embed],
            vector_store=store,
            docstore=docstore,
            docstore_strategy=DocstoreStrategy.UPSERTS,
        )

    def docs(corpus: dict[str, str]) -> list[Any]:
        return [Document(text=t, id_=s) for s, t in corpus.items()]

    assert len(pipeline().run(documents=docs(CORPUS))) == 3

    request_log.requests.clear()
    assert pipeline().run(documents=docs(CORPUS)) == []
    assert kinds(request_log) == {"embed": 0, "write": 0, "delete": 0}

    request_log.requests.clear()
    changed = {**CORPUS, "valves.md": "The flurbostat valve is set to 9 in summer."}
    assert len(pipeline().run(documents=docs(changed))) == 1
    assert kinds(request_log)["embed"] == 1 and kinds(request_log)["delete"] >= 1
    from llama_index.core.vector_stores.types import VectorStoreQuery

    query = VectorStoreQuery(
        query_embedding=embed.get_query_embedding("flurbostat valve"), similarity_top_k=5
    )
    texts = [n.get_content() for n in store.query(query).nodes or []]
    assert changed["valves.md"] in texts and CORPUS["valves.md"] not in texts
    logged.vectorize.delete_index(name)
