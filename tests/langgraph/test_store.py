"""VectorizeD1Store against LangGraph's contract for ``BaseStore``. LangGraph publishes no store test
suite (langgraph-checkpoint-conformance 0.0.2 covers checkpointers only), so the store is compared with
LangGraph's own reference, ``InMemoryStore``, on the same operations, and searched by meaning over the
emulator's Vectorize and embeddings."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from langgraph.store.base import InvalidNamespaceError, PutOp
from langgraph.store.memory import InMemoryStore

from langchain_workersai import VectorizeD1Store
from tests.conftest import RequestLog
from workersai import BadInput, WorkersAI

MODEL = "@cf/baai/bge-small-en-v1.5"


@pytest.fixture
def indexed(client: WorkersAI, database: str) -> Iterator[VectorizeD1Store]:
    name = f"mem-{uuid.uuid4().hex[:8]}"
    store = VectorizeD1Store(
        client, database, index={"name": name, "dims": 384, "embed": MODEL, "fields": ["text"]}
    )
    store.setup()
    yield store


def _script(store: Any) -> list[Any]:
    """The same operations on any store: what each answered (times and scores left out)."""

    def item(found: Any) -> Any:
        return None if found is None else (found.namespace, found.key, found.value)

    def found(items: list[Any]) -> list[Any]:
        return sorted(item(i) for i in items)

    out: list[Any] = []
    store.put(("users", "alice"), "likes", {"text": "pizza", "n": 3, "tags": {"kind": "food"}})
    store.put(("users", "alice"), "job", {"text": "plumber", "n": 7})
    store.put(("users", "bob"), "likes", {"text": "sushi", "n": 5})
    store.put(("users", "bob", "notes"), "a", {"text": "meeting", "n": 1})
    store.put(("docs",), "readme", {"text": "hello", "n": 0})
    out.append(item(store.get(("users", "alice"), "likes")))
    out.append(item(store.get(("users", "alice"), "nobody")))
    store.put(("users", "alice"), "likes", {"text": "pasta", "n": 4, "tags": {"kind": "food"}})  # update
    out.append(item(store.get(("users", "alice"), "likes")))
    store.delete(("users", "alice"), "job")
    out.append(item(store.get(("users", "alice"), "job")))
    out.append(found(store.search(("users",))))
    out.append(found(store.search(("users", "bob"))))
    out.append(found(store.search(())))
    out.append(found(store.search(("users",), filter={"n": {"$gte": 4}})))
    out.append(found(store.search(("users",), filter={"tags": {"kind": "food"}})))
    out.append(found(store.search(("users",), filter={"text": "sushi", "n": 5})))
    out.append(found(store.search(("users",), filter={"n": {"$ne": 5}})))
    out.append(len(store.search((), limit=2)))
    out.append(len(store.search((), limit=10, offset=3)))
    out.append(store.list_namespaces())
    out.append(store.list_namespaces(prefix=("users",)))
    out.append(store.list_namespaces(suffix=("notes",)))
    out.append(store.list_namespaces(prefix=("users", "*")))
    out.append(store.list_namespaces(max_depth=1))
    out.append(store.list_namespaces(limit=2, offset=1))
    out.append(store.list_namespaces(prefix=("users",), max_depth=2))
    return out


def test_the_same_answers_as_langgraphs_in_memory_store(client: WorkersAI, database: str) -> None:
    assert _script(VectorizeD1Store(client, database)) == _script(InMemoryStore())


def test_search_by_meaning_in_a_namespace_with_filters(indexed: VectorizeD1Store) -> None:
    store = indexed
    # one batch: one embedding request for the three texts, one upsert
    store.batch(
        [
            PutOp(("u", "alice"), "food", {"text": "Alice loves spicy Thai curry and noodles", "n": 1}),
            PutOp(("u", "alice"), "work", {"text": "Alice works as a plumber fixing pipes", "n": 2}),
            PutOp(("u", "bob"), "food", {"text": "Bob loves spicy Thai curry and noodles", "n": 3}),
            PutOp(("u", "alice"), "hidden", {"text": "Alice loves curry too", "n": 4}, index=False),
        ]
    )

    hits = store.search(("u", "alice"), query="what food does she like to eat?")
    assert [h.key for h in hits[:2]] == ["food", "work"] and all(h.namespace == ("u", "alice") for h in hits)
    assert hits[0].score is not None and hits[0].score > hits[1].score
    assert "hidden" not in {h.key for h in hits}  # index=False: stored, not searchable by meaning
    assert {h.namespace for h in store.search(("u",), query="curry")} == {("u", "alice"), ("u", "bob")}
    assert [h.key for h in store.search(("u", "alice"), query="curry", filter={"n": {"$gt": 1}})] == ["work"]

    # an update replaces the item's vector; a delete removes it
    store.put(("u", "alice"), "food", {"text": "Alice now only eats salad", "n": 1})
    assert store.search(("u", "alice"), query="green salad leaves", limit=1)[0].key == "food"
    store.delete(("u", "alice"), "work")
    assert {h.key for h in store.search(("u", "alice"), query="plumber pipes")} == {"food"}


async def test_async_twins_and_a_second_store_on_the_same_data(
    indexed: VectorizeD1Store, client: WorkersAI
) -> None:
    store = indexed
    await store.aput(("a", "b"), "k", {"text": "the capital of France is Paris"})
    await store.aput(("a", "c"), "k", {"text": "photosynthesis in green plants"})
    assert (await store.aget(("a", "b"), "k")).value == {"text": "the capital of France is Paris"}
    hits = await store.asearch(("a",), query="Which city is France's capital?", limit=1)
    assert [(h.namespace, h.key) for h in hits] == [(("a", "b"), "k")]
    assert await store.alist_namespaces(prefix=("a",)) == [("a", "b"), ("a", "c")]
    await store.adelete(("a", "c"), "k")
    # another store (another process would do the same) reads what this one wrote
    again = VectorizeD1Store(
        client, store.database_id, index={"name": store.index_name, "dims": 384, "embed": MODEL}
    )
    assert [h.key for h in again.search(("a",), query="Paris")] == ["k"]
    assert again.get(("a", "c"), "k") is None


@pytest.mark.parametrize(
    ("namespace", "error"),
    [
        (("a.b",), InvalidNamespaceError),
        (("a", ""), InvalidNamespaceError),
        (("a\x00",), InvalidNamespaceError),
        (("\ud800",), InvalidNamespaceError),
        ("users", InvalidNamespaceError),
    ],
    ids=["dot", "empty-label", "NUL", "surrogate", "a-string"],
)
def test_odd_namespaces_are_refused_before_any_request(
    logged_client: WorkersAI, request_log: RequestLog, namespace: Any, error: type[Exception]
) -> None:
    store = VectorizeD1Store(logged_client, "no-such-database")
    with pytest.raises(error):
        store.put(namespace, "k", {"text": "x"})
    with pytest.raises(error):
        store.search(namespace)
    with pytest.raises(error):
        store.get(namespace, "k")
    with pytest.raises(BadInput):
        store.put(("ok",), "a\x00b", {"text": "x"})
    assert request_log.requests == []


def test_keys_and_labels_with_other_characters_round_trip(client: WorkersAI, database: str) -> None:
    store = VectorizeD1Store(client, database)
    odd = ("it's; DROP TABLE x; --", "50%_off", "🦜", "a|b:c")
    store.put(odd, "k'\"; --", {"v": 1})
    assert store.get(odd, "k'\"; --").value == {"v": 1}
    assert store.list_namespaces(prefix=odd[:2]) == [odd]
    assert [i.key for i in store.search(("it's; DROP TABLE x; --",))] == ["k'\"; --"]
    assert store.search(("it's; DROP TABLE x",)) == []  # a prefix is whole labels, not characters
    assert store.list_namespaces(prefix=("50%_off",)) == []
