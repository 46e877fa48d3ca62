"""Resume after ``kill -9`` (#18 item 3): a bulk add stopped half-way and run again with
``skip_existing=True`` embeds and writes only the documents not stored yet, checked in bulk with
``get_by_ids`` before anything is embedded. Over HTTP against the emulator, counted from the requests
the client really sent. With the texts in D1 (#25 item 3), an update killed at every step leaves each
document readable whole, its text the one its vector was embedded from."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from workersai import WorkersAI
from workersai.local import LocalEmulator

from .conftest import RequestLog
from .resume_child import EMBED, ids, texts
from .test_text_versions import assert_embedded_from, rows

ROOT = Path(__file__).resolve().parent.parent


def embedded_texts(log: RequestLog) -> list[str]:
    """Every text the logged client sent to an embedding model."""
    out: list[str] = []
    for r in log.requests:
        if "/ai/run/" in r.url.path:
            text = orjson.loads(r.content)["text"]
            out.extend([text] if isinstance(text, str) else text)
    return out


def written_ids(log: RequestLog) -> list[str]:
    """Every vector id the logged client sent in an upsert or insert body."""
    return [
        orjson.loads(line)["id"]
        for r in log.requests
        if r.url.path.endswith(("/upsert", "/insert"))
        for line in r.content.splitlines()
    ]


@pytest.fixture
def logged(emulator: LocalEmulator, request_log: RequestLog) -> Iterator[WorkersAI]:
    http = httpx.Client(timeout=60, event_hooks={"request": [request_log]})
    ahttp = httpx.AsyncClient(timeout=60, event_hooks={"request": [request_log.ahook]})
    with emulator.client(http_client=http, async_http_client=ahttp) as client:
        yield client
    http.close()


def stored_now(client: WorkersAI, name: str) -> set[str]:
    """The ids the index holds once it has applied every write it accepted."""
    client.vectorize.settle(name)
    return set(client.vectorize.list_ids(name))


@pytest.fixture
def database(logged: WorkersAI) -> Iterator[str]:
    created = logged.d1.create_database(f"resume-{uuid.uuid4().hex[:8]}")
    yield created.uuid
    logged.d1.delete_database(created.uuid)


def killed_child(emulator: LocalEmulator, name: str, *args: str) -> None:
    """Run ``tests.resume_child`` with ``args`` and check that it was killed with SIGKILL."""
    child = subprocess.run(
        [sys.executable, "-m", "tests.resume_child", name, *args],
        cwd=ROOT,
        env={**os.environ, **emulator.env()},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert child.returncode == -signal.SIGKILL, child.stderr[-2000:]


@pytest.mark.parametrize("texts_in", ["metadata", "d1"])
def test_kill_9_mid_add_then_skip_existing_embeds_only_the_rest(
    emulator: LocalEmulator, logged: WorkersAI, request_log: RequestLog, texts_in: str, request: Any
) -> None:
    from langchain_workersai import VectorizeVectorStore, WorkersAIEmbeddings

    n, chunk = 80, 8
    name = f"resume-{uuid.uuid4().hex[:8]}"
    d1: list[str] = ["--d1", request.getfixturevalue("database")] if texts_in == "d1" else []
    store = VectorizeVectorStore(
        name,
        WorkersAIEmbeddings(model=EMBED, client=logged),
        client=logged,
        chunk_size=chunk,
        batch_size=chunk,
        d1_database_id=d1[1] if d1 else None,
    )
    store.create_index()
    # The child is killed on its 6th embedding call, once at least 3 chunks are stored.
    killed_child(emulator, name, str(n), str(chunk), "6", str(3 * chunk), *d1)
    before = stored_now(logged, name)
    if d1:  # every stored vector reads with the text it was embedded from
        seen = store.get_by_ids(sorted(before))
        assert_embedded_from(logged, name, [(str(d.id), d.page_content) for d in seen])
    assert 3 * chunk <= len(before) < n

    request_log.requests.clear()
    counted = emulator.stats()["embedded_texts"]
    assert store.add_texts(texts(n), ids=ids(n), skip_existing=True) == ids(n)
    by_text = dict(zip(texts(n), ids(n), strict=True))
    again = [by_text[t] for t in embedded_texts(request_log)]
    assert emulator.stats()["embedded_texts"] - counted == len(again)  # the emulator's own count
    assert not before & set(again)  # nothing already stored is embedded again
    assert sorted(again) == sorted(set(ids(n)) - before)  # and every missing document is, once
    assert sorted(written_ids(request_log)) == sorted(again)
    docs = store.get_by_ids(ids(n))
    assert [d.page_content for d in docs] == texts(n)
    if d1:
        assert_embedded_from(logged, name, [(str(d.id), d.page_content) for d in docs])
        assert rows(logged, d1[1], name) == sorted(zip(ids(n), texts(n), strict=True))

    # A second run over the complete index embeds and writes nothing.
    request_log.requests.clear()
    store.add_texts(texts(n), ids=ids(n), skip_existing=True)
    assert embedded_texts(request_log) == [] and written_ids(request_log) == []
    logged.vectorize.delete_index(name)


KILL_POINTS = {
    # name: (--kill-at, documents at the new version after it, text versions in D1 after it)
    # versions of the first batch written, no vector yet
    "after-first-texts": ("response:/d1/:1", (0, 0), (48, 48)),
    # first batch accepted; the others may be too, with their texts (batches are sent concurrently:
    # on a loaded machine every batch's texts were written by the time the first answer came, 80 rows)
    "after-first-vectors": ("response:/upsert:1", (8, 40), (56, 80)),
    # two batches' versions written, their vectors sent, in flight or not yet
    "before-third-texts": ("request:/d1/:3", (0, 16), (56, 56)),
    # every batch accepted, the last one not yet confirmed applied
    "after-last-vectors": ("response:/upsert:5", (40, 40), (80, 80)),
    # every vector applied, old versions all still there
    "before-prune": ("request:/d1/:6", (40, 40), (80, 80)),
    # old versions deleted: the update complete
    "after-prune": ("response:/d1/:6", (40, 40), (40, 40)),
}


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_kill_9_at_every_step_of_an_update_with_texts_in_d1(
    emulator: LocalEmulator, logged: WorkersAI, database: str, point: str
) -> None:
    """Documents stored at version 1 are updated to version 2 by a process killed at ``kill_at``:
    every document still reads whole (its text at version 1 or 2, with the vector embedded from that
    text, by get and by search); a resume with skip_existing changes nothing but the versions no
    vector names (deleted), and running the update again completes it with one text each."""
    from langchain_workersai import VectorizeVectorStore, WorkersAIEmbeddings

    n, chunk = 40, 8
    kill_at, (least_new, most_new), (least_rows, most_rows) = KILL_POINTS[point]
    name = f"resume-k-{uuid.uuid4().hex[:8]}"
    embeddings = WorkersAIEmbeddings(model=EMBED, client=logged)
    store = VectorizeVectorStore(
        name, embeddings, client=logged, chunk_size=chunk, batch_size=chunk, d1_database_id=database
    )
    store.create_index()
    store.add_texts(texts(n, 1), ids=ids(n))

    killed_child(
        emulator, name, str(n), str(chunk), "0", "0", "--d1", database, "--kill-at", kill_at, "--version", "2"
    )
    logged.vectorize.settle(name)
    docs = store.get_by_ids(ids(n))
    assert [d.id for d in docs] == ids(n)  # no document lost its text
    for doc, old, new in zip(docs, texts(n, 1), texts(n, 2), strict=True):
        assert doc.page_content in (old, new)
    assert_embedded_from(logged, name, [(str(d.id), d.page_content) for d in docs])
    updated = sum(d.page_content in texts(n, 2) for d in docs)
    assert least_new <= updated <= most_new  # the kill came where it says
    assert least_rows <= len(rows(logged, database, name)) <= most_rows
    vectors = logged.vectorize.get_by_ids(name, ids(n)[:: n // 4])
    for vector in vectors:
        found = store.similarity_search_by_vector(vector.values, k=1)
        assert [d.id for d in found] == [vector.id]
        assert found[0].page_content == docs[ids(n).index(vector.id)].page_content

    # Resuming with skip_existing changes no stored document, and leaves one text per id.
    store.add_texts(texts(n, 2), ids=ids(n), skip_existing=True)
    assert store.get_by_ids(ids(n)) == docs
    assert rows(logged, database, name) == sorted((str(d.id), d.page_content) for d in docs)

    store.add_texts(texts(n, 2), ids=ids(n))
    assert [d.page_content for d in store.get_by_ids(ids(n))] == texts(n, 2)
    assert rows(logged, database, name) == sorted(zip(ids(n), texts(n, 2), strict=True))


class FailsMidway:
    """Async embeddings that fail on the ``fail_on``-th call, once ``stored_at_least`` vectors are in
    the index (an add interrupted in-process)."""

    def __init__(self, inner: Any, client: WorkersAI, index: str, fail_on: int, stored_at_least: int):
        self.inner, self.client, self.index = inner, client, index
        self.fail_on, self.stored_at_least, self.calls = fail_on, stored_at_least, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    async def aembed_documents(self, batch: list[str]) -> list[list[float]]:
        self.calls += 1
        if self.calls == self.fail_on:
            while (await self.client.vectorize.ainfo(self.index)).vector_count < self.stored_at_least:
                await asyncio.sleep(0.02)
            raise ConnectionError("interrupted")
        result: list[list[float]] = await self.inner.aembed_documents(batch)
        return result


async def test_async_add_interrupted_then_resumed(logged: WorkersAI, request_log: RequestLog) -> None:
    from langchain_core.embeddings import Embeddings

    from langchain_workersai import VectorizeVectorStore, WorkersAIEmbeddings

    n, chunk = 60, 10
    name = f"resume-a-{uuid.uuid4().hex[:8]}"
    real = WorkersAIEmbeddings(model=EMBED, client=logged)
    failing: Embeddings = FailsMidway(real, logged, name, fail_on=4, stored_at_least=chunk)  # type: ignore[assignment]
    store = VectorizeVectorStore(name, failing, client=logged, chunk_size=chunk, batch_size=chunk)
    await store.acreate_index(dimensions=384)
    with pytest.raises(ConnectionError):
        await store.aadd_texts(texts(n), ids=ids(n))
    before = stored_now(logged, name)
    assert chunk <= len(before) < n

    resumed = VectorizeVectorStore(
        name, real, client=logged, chunk_size=chunk, batch_size=chunk, skip_existing=True
    )
    request_log.requests.clear()
    await resumed.aadd_texts(texts(n), ids=ids(n))
    by_text = dict(zip(texts(n), ids(n), strict=True))
    again = sorted(by_text[t] for t in embedded_texts(request_log))
    assert again == sorted(set(ids(n)) - before)
    assert [d.page_content for d in await resumed.aget_by_ids(ids(n))] == texts(n)
    await logged.vectorize.adelete_index(name)


def test_core_upsert_skip_existing_writes_only_unstored_vectors(
    logged: WorkersAI, request_log: RequestLog
) -> None:
    vz = logged.vectorize
    name = f"resume-c-{uuid.uuid4().hex[:8]}"
    vz.create_index(name, dimensions=3)
    vz.upsert(name, [{"id": f"v{i}", "values": [1.0, 0.0, float(i)]} for i in range(30)], wait=True)
    vz.upsert(name, [{"id": "elsewhere", "values": [1.0, 1.0, 1.0], "namespace": "other"}], wait=True)

    later = [{"id": f"v{i}", "values": [0.0, 1.0, float(i)]} for i in range(45)]
    later.append({"id": "elsewhere", "values": [2.0, 2.0, 2.0]})  # stored, but in another namespace
    request_log.requests.clear()
    vz.upsert(name, iter(later), wait=True, batch_size=10, skip_existing=True)
    assert written_ids(request_log) == [f"v{i}" for i in range(30, 45)] + ["elsewhere"]
    stored = {v.id: v for v in vz.get_by_ids(name, [f"v{i}" for i in range(45)] + ["elsewhere"])}
    assert stored["v3"].values == [1.0, 0.0, 3.0]  # a stored vector is left as it is
    assert stored["v40"].values == [0.0, 1.0, 40.0]
    assert stored["elsewhere"].namespace is None and stored["elsewhere"].values == [2.0, 2.0, 2.0]
    assert vz.missing_ids(name, ["v1", "v99", "elsewhere"], namespace="other") == ["v1", "v99", "elsewhere"]
    assert vz.missing_ids(name, ["v1", "v99", "elsewhere"]) == ["v99"]
    vz.delete_index(name)


async def test_core_aupsert_skip_existing_from_an_async_source(
    logged: WorkersAI, request_log: RequestLog
) -> None:
    vz = logged.vectorize
    name = f"resume-d-{uuid.uuid4().hex[:8]}"
    await vz.acreate_index(name, dimensions=2)
    await vz.aupsert(name, [{"id": f"v{i}", "values": [1.0, float(i)]} for i in range(0, 20, 2)], wait=True)

    async def source() -> Any:
        for i in range(20):
            yield {"id": f"v{i}", "values": [9.0, float(i)]}

    request_log.requests.clear()
    await vz.aupsert(name, source(), wait=True, batch_size=7, skip_existing=True)
    assert sorted(written_ids(request_log)) == sorted(f"v{i}" for i in range(1, 20, 2))
    assert await vz.amissing_ids(name, [f"v{i}" for i in range(21)]) == ["v20"]
    await vz.adelete_index(name)


def test_llamaindex_add_skip_existing_and_unstored_nodes(logged: WorkersAI, request_log: RequestLog) -> None:
    from llama_index.core.schema import TextNode

    from llamaindex_workersai import VectorizeVectorStore

    name = f"resume-li-{uuid.uuid4().hex[:8]}"
    store = VectorizeVectorStore(name, client=logged)
    store.create_index(dimensions=2)

    def nodes(count: int, x: float) -> list[TextNode]:
        return [TextNode(id_=f"n{i}", text=f"node {i}", embedding=[x, float(i)]) for i in range(count)]

    store.add(nodes(6, 1.0))
    assert [n.node_id for n in store.unstored_nodes(nodes(10, 2.0))] == ["n6", "n7", "n8", "n9"]
    request_log.requests.clear()
    assert store.add(nodes(10, 2.0), skip_existing=True) == [f"n{i}" for i in range(10)]
    assert written_ids(request_log) == ["n6", "n7", "n8", "n9"]
    values = {v.id: v.values for v in logged.vectorize.get_by_ids(name, ["n0", "n9"])}
    assert values == {"n0": [1.0, 0.0], "n9": [2.0, 9.0]}
    logged.vectorize.delete_index(name)


def test_llamaindex_pipeline_skips_stored_nodes_before_embedding(
    logged: WorkersAI, request_log: RequestLog
) -> None:
    from llama_index.core import Document
    from llama_index.core.ingestion import IngestionPipeline
    from llama_index.core.node_parser import SentenceSplitter

    from llamaindex_workersai import SkipStoredNodes, VectorizeVectorStore, WorkersAIEmbedding

    name = f"resume-lp-{uuid.uuid4().hex[:8]}"
    embed = WorkersAIEmbedding(model_name=EMBED, client=logged)
    store = VectorizeVectorStore(name, client=logged)
    store.create_index(dimensions=384)
    corpus = [Document(text=t, id_=i) for t, i in zip(texts(12), ids(12), strict=True)]

    def pipeline() -> IngestionPipeline:
        splitter = SentenceSplitter(chunk_size=128, chunk_overlap=0, id_func=lambda i, doc: f"{doc.id_}-{i}")
        return IngestionPipeline(
            transformations=[splitter, SkipStoredNodes(vector_store=store), embed], vector_store=store
        )

    pipeline().run(documents=corpus[:5])  # a run stopped after 5 documents
    request_log.requests.clear()
    assert len(pipeline().run(documents=corpus)) == 7  # the rest
    assert sorted(embedded_texts(request_log)) == sorted(texts(12)[5:])
    assert len(list(logged.vectorize.list_ids(name))) == 12
    logged.vectorize.delete_index(name)
