"""A long bulk add says what it is doing when no progress bar shows it (issue #28, item 6): an INFO line
on the ``workersai`` logger as it starts (with the counts) and as it ends (count and time), in both
stores; nothing for a short add, nothing when ``show_progress`` shows a bar."""

from __future__ import annotations

import asyncio
import logging
import uuid

import pytest
from langchain_core.embeddings import DeterministicFakeEmbedding
from llama_index.core.schema import TextNode

from langchain_workersai import VectorizeVectorStore as LangChainStore
from llamaindex_workersai import VectorizeVectorStore as LlamaIndexStore
from workersai import WorkersAI
from workersai.vectorize import documents


@pytest.fixture
def index(client: WorkersAI, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setattr(
        documents, "LOG_FROM", 3, raising=False
    )  # "long" from 3 documents, to keep the test small
    name = f"log-{uuid.uuid4().hex[:8]}"
    client.vectorize.create_index(name, dimensions=6, metric="cosine")
    return name


def _lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "workersai" and r.levelno == logging.INFO]


def test_langchain_bulk_add_logs_start_and_end(
    client: WorkersAI, index: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = LangChainStore(index, DeterministicFakeEmbedding(size=6), client=client, chunk_size=2)
    caplog.set_level(logging.INFO, logger="workersai")
    store.add_texts(["one", "two"])  # short: nothing said
    assert _lines(caplog) == []
    store.add_texts(["a", "b", "c"])
    start, end = _lines(caplog)
    assert start.startswith(f"Adding 3 documents to Vectorize index {index!r} (embedding 2 at a time")
    assert end.startswith(f"Added 3 documents to Vectorize index {index!r} in ") and end.endswith(" s")
    caplog.clear()
    asyncio.run(store.aadd_texts(["d", "e", "f"]))
    assert len(_lines(caplog)) == 2
    caplog.clear()
    store.add_texts(["g", "h", "i"], show_progress=True)  # the bar says it
    assert _lines(caplog) == []


def test_llamaindex_bulk_add_logs_start_and_end(
    client: WorkersAI, index: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = LlamaIndexStore(index, client=client)
    nodes = [TextNode(text=t, embedding=[float(i + 1)] * 6) for i, t in enumerate("abc")]
    caplog.set_level(logging.INFO, logger="workersai")
    store.add(nodes[:2])
    assert _lines(caplog) == []
    store.add(nodes)
    start, end = _lines(caplog)
    assert start == f"Adding 3 documents to Vectorize index {index!r} (embedded already)"
    assert end.startswith(f"Added 3 documents to Vectorize index {index!r} in ")
    caplog.clear()
    asyncio.run(store.async_add(nodes))
    assert len(_lines(caplog)) == 2
