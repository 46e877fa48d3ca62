"""What the standard suites do not cover: retry, fallback, usage, filters, namespaces, MMR, limits."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.documents import Document
from langchain_core.messages import AIMessage

from langchain_workersai import (
    ChatWorkersAI,
    VectorizeRetriever,
    VectorizeVectorStore,
    WorkersAIEmbeddings,
    get_workersai_callback,
    with_model_fallbacks,
    with_workersai_retry,
)
from workersai import DEFAULT_CHAT_MODEL, BadInput, CapacityExceeded, DailyQuotaExceeded, RetryPolicy
from workersai.local import LocalEmulator

from ..conftest import Sleeps


@pytest.fixture
def conn(emulator: LocalEmulator) -> dict[str, Any]:
    return {"account_id": emulator.account_id, "api_key": emulator.token, "base_url": emulator.base_url}


@pytest.fixture
def store(conn: dict[str, Any]) -> Iterator[VectorizeVectorStore]:
    embeddings = WorkersAIEmbeddings(model="@cf/baai/bge-small-en-v1.5", **conn)
    s = VectorizeVectorStore(f"ex-{uuid.uuid4().hex[:10]}", embeddings, **conn)
    s.create_index()
    yield s
    s.client.vectorize.delete_index(s.index_name)


# -- retry and fallback ------------------------------------------------------------------------


def test_retry_runnable_rides_out_a_capacity_burst(
    emulator: LocalEmulator, conn: dict[str, Any], sleeps: Sleeps
) -> None:
    llm = ChatWorkersAI(max_retries=0, max_tokens=5, **conn)
    emulator.set_faults(error="3040", fail_next=2, retry_after=0.25)
    answer = with_workersai_retry(llm, RetryPolicy(max_retries=3, sleep=sleeps)).invoke("hello")
    assert isinstance(answer, AIMessage) and answer.content
    # Retry-After (0.25 s) can only lengthen a wait: the backoff (0.5 s and more) stands
    assert len(sleeps.waits) == 2 and all(w >= 0.5 for w in sleeps.waits)


async def test_retry_runnable_async(emulator: LocalEmulator, conn: dict[str, Any], sleeps: Sleeps) -> None:
    llm = ChatWorkersAI(max_retries=0, max_tokens=5, **conn)
    emulator.set_faults(error="500", fail_next=1)
    answer = await with_workersai_retry(llm, RetryPolicy(max_retries=2, async_sleep=sleeps.asleep)).ainvoke(
        "hi"
    )
    assert answer.content and len(sleeps.waits) == 1


def test_retry_runnable_does_not_retry_the_daily_quota(
    emulator: LocalEmulator, conn: dict[str, Any], sleeps: Sleeps
) -> None:
    llm = ChatWorkersAI(max_retries=0, **conn)
    emulator.set_faults(error="3036", fail_next=3)
    with pytest.raises(DailyQuotaExceeded):
        with_workersai_retry(llm, RetryPolicy(max_retries=3, sleep=sleeps)).invoke("hello")
    assert sleeps.waits == []


def test_fallback_moves_on_for_capacity(emulator: LocalEmulator, conn: dict[str, Any]) -> None:
    big = ChatWorkersAI(model="@cf/meta/llama-3.3-70b-instruct-fp8-fast", max_retries=0, **conn)
    small = ChatWorkersAI(model="@cf/meta/llama-3.1-8b-instruct-fast", max_retries=0, **conn)
    emulator.set_faults(error="3040", fail_next=1)
    answer = with_model_fallbacks(big, small).invoke("hello")
    assert answer.response_metadata["model_name"] == "@cf/meta/llama-3.1-8b-instruct-fast"


def test_fallback_moves_on_for_an_unknown_model(conn: dict[str, Any]) -> None:
    missing = ChatWorkersAI(model="@cf/meta/llama-9-9000b", **conn)
    small = ChatWorkersAI(**conn)
    answer = with_model_fallbacks(missing, small).invoke("hi")
    assert answer.response_metadata["model_name"] == DEFAULT_CHAT_MODEL


def test_fallback_never_moves_on_for_bad_input(emulator: LocalEmulator, conn: dict[str, Any]) -> None:
    big = ChatWorkersAI(temperature=9, **conn)  # invalid: refused before any request
    small = ChatWorkersAI(**conn)
    with pytest.raises(BadInput):
        with_model_fallbacks(big, small).invoke("hello")


def test_fallback_chain_reports_the_last_error(emulator: LocalEmulator, conn: dict[str, Any]) -> None:
    a = ChatWorkersAI(max_retries=0, **conn)
    b = ChatWorkersAI(model="@cf/meta/llama-3.2-1b-instruct", max_retries=0, **conn)
    emulator.set_faults(error="3040", fail_next=2)
    with pytest.raises(CapacityExceeded):
        with_model_fallbacks(a, b).invoke("hello")


# -- usage ---------------------------------------------------------------------------------------


def test_callback_sums_tokens_and_neurons(conn: dict[str, Any]) -> None:
    llm = ChatWorkersAI(max_tokens=5, **conn)
    with get_workersai_callback() as usage:
        llm.invoke("one")
        llm.batch(["two", "three"])
        list(llm.stream("four"))
    entry = usage.by_model[DEFAULT_CHAT_MODEL]
    assert entry.requests == 4 and entry.completion_tokens == 20
    assert usage.total_neurons is not None and usage.total_neurons > 0


def test_stream_usage_is_on_one_chunk(conn: dict[str, Any]) -> None:
    chunks = list(ChatWorkersAI(max_tokens=6, **conn).stream("hello"))
    with_usage = [c for c in chunks if c.usage_metadata]
    assert len(with_usage) == 1 and with_usage[0].usage_metadata["output_tokens"] == 6  # type: ignore[index]
    assert sum(1 for c in chunks if c.response_metadata.get("model_name")) == 1


def test_secret_is_not_in_repr(conn: dict[str, Any]) -> None:
    llm = ChatWorkersAI(**conn)
    assert conn["api_key"] not in repr(llm) and conn["api_key"] not in str(llm.model_dump())


# -- vector store --------------------------------------------------------------------------------


def test_metadata_types_round_trip(store: VectorizeVectorStore) -> None:
    meta = {
        "i": 3,
        "f": 2.5,
        "whole_float": 2.0,
        "b": False,
        "s": "x",
        "n": None,
        "l": [1, "a"],
        "d": {"k": [True]},
    }
    [doc_id] = store.add_texts(["typed metadata"], [meta])
    [doc] = store.get_by_ids([doc_id])
    assert doc.metadata == meta
    assert type(doc.metadata["whole_float"]) is float and type(doc.metadata["i"]) is int


def test_filters_namespaces_and_scores(store: VectorizeVectorStore) -> None:
    store.create_metadata_index("lang", "string")
    store.add_texts(
        ["hello world", "bonjour le monde", "hola mundo"], [{"lang": "en"}, {"lang": "fr"}, {"lang": "es"}]
    )
    hits = store.similarity_search_with_score("hello world", k=3, filter={"lang": {"$in": ["fr", "es"]}})
    assert {d.metadata["lang"] for d, _ in hits} == {"fr", "es"}
    top, score = store.similarity_search_with_score("hello world", k=1)[0]
    assert top.page_content == "hello world" and score == pytest.approx(1.0, abs=1e-4)
    other = VectorizeVectorStore(store.index_name, store.embedding, namespace="tenant-b", client=store.client)
    other.add_texts(["hello world in tenant b"])
    assert [d.page_content for d in other.similarity_search("hello", k=5)] == ["hello world in tenant b"]


def test_mmr_prefers_diverse_results(store: VectorizeVectorStore) -> None:
    texts = [
        "cats are great pets",
        "cats are great pets!",
        "cats are wonderful pets",
        "stock markets fell today",
    ]
    store.add_texts(texts)
    plain = store.similarity_search("cats as pets", k=2)
    diverse = store.max_marginal_relevance_search("cats as pets", k=2, fetch_k=4, lambda_mult=0.1)
    assert len(diverse) == 2
    assert {d.page_content for d in plain} <= set(texts[:3])
    assert "stock markets fell today" in {d.page_content for d in diverse}


async def test_async_store_paths(store: VectorizeVectorStore) -> None:
    ids = await store.aadd_documents([Document(page_content="async doc", metadata={"k": 1}, id="a1")])
    assert ids == ["a1"]
    assert [d.page_content for d in await store.asimilarity_search("async doc", k=1)] == ["async doc"]
    assert (await store.aget_by_ids(["a1"]))[0].metadata == {"k": 1}
    assert len(await store.amax_marginal_relevance_search("async", k=1)) == 1
    await store.adelete(["a1"])
    assert await store.aget_by_ids(["a1"]) == []


def test_too_large_document_error_names_it(store: VectorizeVectorStore) -> None:
    with pytest.raises(BadInput, match="document 'big-one'"):
        store.add_texts(["x" * 11_000], ids=["big-one"])
    with pytest.raises(BadInput, match="reserved"):
        store.add_texts(["t"], [{"_text": "clash"}])
    with pytest.raises(BadInput, match="at most 50"):
        store.similarity_search("q", k=51)


def test_from_texts_creates_the_index(conn: dict[str, Any]) -> None:
    name = f"ft-{uuid.uuid4().hex[:10]}"
    embeddings = WorkersAIEmbeddings(model="@cf/baai/bge-small-en-v1.5", **conn)
    store = VectorizeVectorStore.from_texts(["alpha", "beta"], embeddings, index_name=name, **conn)
    assert store.client.vectorize.get_index(name).dimensions == 384
    assert store.similarity_search("alpha", k=1)[0].page_content == "alpha"
    store.client.vectorize.delete_index(name)


def test_retriever_options(store: VectorizeVectorStore) -> None:
    store.create_metadata_index("topic", "string")
    store.add_texts(
        ["apples are fruit", "bananas are fruit", "carrots are vegetables"],
        [{"topic": "fruit"}, {"topic": "fruit"}, {"topic": "veg"}],
    )
    retriever = VectorizeRetriever(vectorstore=store, k=3)
    assert len(retriever.invoke("fruit", k=1)) == 1
    assert {d.metadata["topic"] for d in retriever.invoke("food", filter={"topic": "veg"})} == {"veg"}
    strict = VectorizeRetriever(vectorstore=store, k=3, score_threshold=0.99)
    assert [d.page_content for d in strict.invoke("apples are fruit")] == ["apples are fruit"]
    assert len(store.as_retriever(search_kwargs={"k": 2}).invoke("fruit")) == 2


@pytest.mark.parametrize("metric", ["cosine", "euclidean", "dot-product"])
def test_relevance_scores_follow_the_index_metric(conn: dict[str, Any], metric: Any) -> None:
    from langchain_core.embeddings import DeterministicFakeEmbedding

    store = VectorizeVectorStore(f"rel-{uuid.uuid4().hex[:10]}", DeterministicFakeEmbedding(size=8), **conn)
    store.create_index(metric=metric)
    try:
        store.add_texts(["alpha", "beta", "gamma"])
        hits = store.similarity_search_with_relevance_scores("alpha", k=3)
        scores = [score for _, score in hits]
        assert hits[0][0].page_content == "alpha"
        assert scores == sorted(scores, reverse=True)  # the closest is the most relevant
        assert all(0.0 <= s <= 1.0 + 1e-6 for s in scores)
        if metric != "dot-product":  # an exact match: distance 0, similarity 1
            assert scores[0] == pytest.approx(1.0, abs=1e-3)
    finally:
        store.client.vectorize.delete_index(store.index_name)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_delete_without_ids_deletes_every_document_of_the_store(
    conn: dict[str, Any], use_async: bool
) -> None:
    from langchain_core.embeddings import DeterministicFakeEmbedding

    name = f"del-{uuid.uuid4().hex[:10]}"
    mine = VectorizeVectorStore(name, DeterministicFakeEmbedding(size=6), namespace="mine", **conn)
    other = VectorizeVectorStore(name, DeterministicFakeEmbedding(size=6), namespace="other", **conn)
    everything = VectorizeVectorStore(name, DeterministicFakeEmbedding(size=6), **conn)
    mine.create_index()
    try:
        mine.add_texts([f"m{i}" for i in range(1200)])  # two delete requests (1000 ids each at most)
        kept = other.add_texts(["kept"])
        assert (await mine.adelete() if use_async else mine.delete()) is True
        assert list(mine.client.vectorize.list_ids(name)) == kept  # only its own namespace went
        assert (await everything.adelete() if use_async else everything.delete()) is True
        assert list(mine.client.vectorize.list_ids(name)) == []
    finally:
        mine.client.vectorize.delete_index(name)


def test_a_filter_on_a_property_without_metadata_index_says_so(store: VectorizeVectorStore) -> None:
    from workersai.vectorize.filters import FilterNotIndexed

    store.add_texts(["cats and dogs"], metadatas=[{"tags": "pets"}])
    with pytest.raises(FilterNotIndexed, match=r"'tags'.*create_metadata_index"):
        store.similarity_search("pets", k=1, filter={"tags": "pets"})


async def test_async_index_helpers(conn: dict[str, Any]) -> None:
    embeddings = WorkersAIEmbeddings(model="@cf/baai/bge-small-en-v1.5", **conn)
    store = VectorizeVectorStore(f"ai-{uuid.uuid4().hex[:10]}", embeddings, **conn)
    await store.acreate_index()
    try:
        assert store.client.vectorize.get_index(store.index_name).dimensions == 384
        await store.acreate_metadata_index("tags", "string")
        await store.aadd_texts(["cats and dogs"], metadatas=[{"tags": "pets"}])
        hits = await store.asimilarity_search("pets", k=1, filter={"tags": "pets"})
        assert [d.page_content for d in hits] == ["cats and dogs"]
    finally:
        store.client.vectorize.delete_index(store.index_name)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_bulk_adds_show_progress(
    conn: dict[str, Any], capsys: pytest.CaptureFixture[str], use_async: bool
) -> None:
    from langchain_core.embeddings import DeterministicFakeEmbedding

    store = VectorizeVectorStore(
        f"pr-{uuid.uuid4().hex[:10]}", DeterministicFakeEmbedding(size=6), chunk_size=10, **conn
    )
    store.create_index()
    try:
        docs = [Document(page_content=f"doc {i}") for i in range(25)]
        await store.aadd_documents(docs, show_progress=True) if use_async else store.add_documents(
            docs, show_progress=True
        )
        assert "25/25" in capsys.readouterr().err
        store.add_texts(["quiet"])  # off by default
        assert "Embedding and uploading" not in capsys.readouterr().err
    finally:
        store.client.vectorize.delete_index(store.index_name)
