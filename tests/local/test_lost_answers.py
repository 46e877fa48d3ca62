""" "Applied, but the answer was lost" (issue #12.9): the emulator serves a write (the mutation is
queued and acknowledged) and then resets the connection or answers 502. Clients retry; afterwards
nothing is lost, nothing doubled, and insert's ignore-existing semantics hold."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from llama_index.core.schema import TextNode

from langchain_workersai import VectorizeVectorStore as LCStore
from langchain_workersai import WorkersAIEmbeddings
from llamaindex_workersai import VectorizeVectorStore as LIStore
from tests.figures import record
from workersai import RetryPolicy, WorkersAI
from workersai.local import LocalEmulator

FAST = RetryPolicy(max_retries=10, initial_backoff=0.01, max_backoff=0.05, jitter=0.01)
DIMS = 4
RATE = 0.3
KINDS = ["reset-after", "502-after"]


@pytest.fixture
def client(emulator: LocalEmulator) -> Iterator[WorkersAI]:
    with emulator.client(retry_policy=FAST) as c:
        yield c


class LostAnswers:
    """Sets a lost-answer fault plan on Vectorize and records how many answers it threw away."""

    def __init__(self, emulator: LocalEmulator, kind: str, seed: int) -> None:
        self.emulator, self.kind, self.seed = emulator, kind, seed

    def __enter__(self) -> LostAnswers:
        self.before = self.emulator.set_faults(
            error=self.kind, error_rate=RATE, scope="vectorize", seed=self.seed
        )["lost_answers"]
        return self

    def __exit__(self, *exc: object) -> None:
        self.lost = self.emulator.clear_faults()["lost_answers"] - self.before
        record("Vectorize answers lost after the request was served (lost-answer faults)", self.lost)


def values(i: int, variant: float = 0.0) -> list[float]:
    return [float(i + 1), 1.0 + variant, 0.5, -0.25]


def assert_exactly(client: WorkersAI, index: str, expected: dict[str, list[float]]) -> None:
    ids = list(client.vectorize.list_ids(index))
    assert len(ids) == len(set(ids)) == len(expected), "a vector was lost or doubled"
    assert set(ids) == set(expected)
    stored = {v.id: v.values for v in client.vectorize.get_by_ids(index, ids)}
    assert stored.keys() == expected.keys()
    for vid, vals in expected.items():
        assert stored[vid] == pytest.approx(vals), vid
    assert client.vectorize.info(index).vector_count == len(expected)


@pytest.mark.parametrize("kind", KINDS)
def test_core_client_upsert_and_insert(emulator: LocalEmulator, client: WorkersAI, kind: str) -> None:
    index = f"lost-{uuid.uuid4().hex[:8]}"
    client.vectorize.create_index(index, dimensions=DIMS)
    first = {f"v{i}": values(i) for i in range(60)}
    with LostAnswers(emulator, kind, seed=11) as faults:
        for start in range(0, 60, 10):  # 6 upserts
            batch = [{"id": f"v{i}", "values": values(i)} for i in range(start, start + 10)]
            client.vectorize.upsert(index, batch, wait=True)
        for start in range(0, 60, 10):  # 6 inserts of the same ids with other values: ignored
            batch = [{"id": f"v{i}", "values": values(i, variant=9.0)} for i in range(start, start + 10)]
            client.vectorize.insert(index, batch, wait=True)
        fresh = {f"n{i}": values(i, variant=2.0) for i in range(20)}
        for start in range(0, 20, 5):  # 4 inserts of new ids, each then "re-inserted" with other values
            ids = [f"n{i}" for i in range(start, start + 5)]
            client.vectorize.insert(index, [{"id": vid, "values": fresh[vid]} for vid in ids], wait=True)
            client.vectorize.insert(
                index, [{"id": vid, "values": values(0, variant=-7.0)} for vid in ids], wait=True
            )
    assert faults.lost > 5
    assert_exactly(client, index, {**first, **fresh})
    client.vectorize.delete_index(index)


def test_an_insert_whose_first_answer_was_lost_keeps_its_first_value(
    emulator: LocalEmulator, client: WorkersAI
) -> None:
    """The answer to inserting A is lost (the insert was applied); the client retries A, then B comes:
    A stays."""
    index = f"lost-{uuid.uuid4().hex[:8]}"
    client.vectorize.create_index(index, dimensions=DIMS)
    before = emulator.set_faults(error="reset-after", fail_next=1, scope="vectorize")["lost_answers"]
    client.vectorize.insert(index, [{"id": "x", "values": values(1)}], wait=True)
    lost = emulator.clear_faults()["lost_answers"] - before
    record("Vectorize answers lost after the request was served (lost-answer faults)", lost)
    assert lost == 1
    client.vectorize.insert(index, [{"id": "x", "values": values(2)}], wait=True)
    assert_exactly(client, index, {"x": values(1)})
    client.vectorize.delete_index(index)


@pytest.mark.parametrize("kind", KINDS)
def test_langchain_add_texts(emulator: LocalEmulator, client: WorkersAI, kind: str) -> None:
    store = LCStore(
        f"lost-lc-{uuid.uuid4().hex[:6]}",
        WorkersAIEmbeddings(model="@cf/baai/bge-small-en-v1.5", client=client),
        client=client,
        batch_size=10,
    )
    store.create_index()
    docs = [f"lost answer drill document {i}" for i in range(150)]
    ids = [f"doc-{i}" for i in range(150)]
    with LostAnswers(emulator, kind, seed=5) as faults:
        store.add_texts(docs, ids=ids)
    assert faults.lost >= 2
    listed = list(client.vectorize.list_ids(store.index_name))
    assert sorted(listed) == sorted(ids)
    stored = client.vectorize.get_by_ids(store.index_name, listed)
    assert {v.id: (v.metadata or {}).get("_text") for v in stored} == dict(zip(ids, docs, strict=True))
    client.vectorize.delete_index(store.index_name)


@pytest.mark.parametrize("kind", KINDS)
def test_llamaindex_add(emulator: LocalEmulator, client: WorkersAI, kind: str) -> None:
    store = LIStore(f"lost-li-{uuid.uuid4().hex[:6]}", client=client)
    store.create_index(DIMS)
    nodes = [TextNode(id_=f"node-{i}", text=f"node {i}", embedding=values(i)) for i in range(120)]
    with LostAnswers(emulator, kind, seed=7) as faults:
        for start in range(0, 120, 10):  # 12 adds
            store.add(nodes[start : start + 10])
    assert faults.lost >= 2
    assert_exactly(client, store.index_name, {n.node_id: values(i) for i, n in enumerate(nodes)})
    client.vectorize.delete_index(store.index_name)
