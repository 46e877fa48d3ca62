"""The official ``cloudflare`` SDK, unmodified, against the emulator: every list method the emulator
serves pages through its paginator and stops (counted requests), and ordinary Workers AI, Vectorize,
D1 and AI Search calls round-trip. Which paginator each list uses: cloudflare-python
``resources/ai/models/models.py`` (V4PagePaginationArray), ``ai/tasks.py`` and ``ai/authors.py``
(SinglePage), ``aisearch/instances/instances.py``, ``aisearch/namespaces/instances/instances.py`` and
``.../items.py`` (V4PagePaginationArray), ``d1/database/database.py`` (V4PagePaginationArray),
``vectorize/indexes/indexes.py`` (SinglePage)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from workersai.catalog import models
from workersai.local import LocalEmulator

from .conftest import RequestBudget

CONTEXT = "The capital of France is Paris. Bananas are yellow."
QUESTION = "What is the capital of France?"
MESSAGES = [{"role": "system", "content": CONTEXT}, {"role": "user", "content": QUESTION}]


def pages_for(total: int, per_page: int) -> int:
    """Requests a V4PagePaginationArray walk takes: every full or partial page, then one empty page."""
    return -(-total // per_page) + 1


@pytest.fixture
def instances(emulator: LocalEmulator) -> Iterator[list[str]]:
    """Three new AI Search instances (default namespace), the first holding three items."""
    names = [f"sdk-{uuid.uuid4().hex[:8]}" for _ in range(3)]
    with emulator.client() as client:
        for name in names:
            client.ai_search.create_instance(name)
        for i in range(3):
            client.ai_search.upload(names[0], f"doc-{i}.md", f"Document {i} talks about topic {i}.")
        yield names
        for name in names:
            client.ai_search.delete_instance(name)


# -- paging ---------------------------------------------------------------------------------------------
def test_models_list_pages_and_stops(cf: Any, emulator: LocalEmulator, budget: RequestBudget) -> None:
    listed = [m["name"] for m in cf.ai.models.list(account_id=emulator.account_id, per_page=10)]
    assert listed == list(models())
    assert budget.sent == pages_for(len(listed), 10)


def test_tasks_and_authors_list(cf: Any, emulator: LocalEmulator, budget: RequestBudget) -> None:
    tasks = [t["name"] for t in cf.ai.tasks.list(account_id=emulator.account_id)]
    authors = [a["name"] for a in cf.ai.authors.list(account_id=emulator.account_id)]
    assert "Text Generation" in tasks and "meta" in authors
    assert budget.sent == 2  # SinglePage: one request each


@pytest.mark.filterwarnings("ignore:deprecated:DeprecationWarning")  # the older path is still served
@pytest.mark.parametrize("path", ["deprecated", "namespaced"])
def test_ai_search_instances_list_pages_and_stops(
    cf: Any, emulator: LocalEmulator, budget: RequestBudget, instances: list[str], path: str
) -> None:
    if path == "deprecated":
        pages = cf.aisearch.instances.list(account_id=emulator.account_id, per_page=2)
    else:
        pages = cf.aisearch.namespaces.instances.list("default", account_id=emulator.account_id, per_page=2)
    listed = [i.id for i in pages]
    assert set(instances) <= set(listed) and len(listed) == len(set(listed))
    assert budget.sent == pages_for(len(listed), 2)


def test_ai_search_namespaces_list_pages_and_stops(
    cf: Any, emulator: LocalEmulator, budget: RequestBudget, instances: list[str]
) -> None:
    listed = [n.name for n in cf.aisearch.namespaces.list(account_id=emulator.account_id, per_page=1)]
    assert "default" in listed and len(listed) == len(set(listed))
    assert budget.sent == pages_for(len(listed), 1)


def test_ai_search_items_list_pages_and_stops(
    cf: Any, emulator: LocalEmulator, budget: RequestBudget, instances: list[str]
) -> None:
    items = cf.aisearch.namespaces.instances.items.list(
        instances[0], account_id=emulator.account_id, name="default", per_page=2
    )
    assert sorted(i.key for i in items) == ["doc-0.md", "doc-1.md", "doc-2.md"]
    assert budget.sent == pages_for(3, 2)


def test_d1_database_list_pages_and_stops(cf: Any, emulator: LocalEmulator, budget: RequestBudget) -> None:
    made = [
        cf.d1.database.create(account_id=emulator.account_id, name=f"sdk-{i}-{uuid.uuid4().hex[:6]}")
        for i in range(3)
    ]
    try:
        sent = budget.sent
        listed = [d.uuid for d in cf.d1.database.list(account_id=emulator.account_id, per_page=2)]
        assert {d.uuid for d in made} <= set(listed) and len(listed) == len(set(listed))
        assert budget.sent - sent == pages_for(len(listed), 2)
    finally:
        for d in made:
            cf.d1.database.delete(d.uuid, account_id=emulator.account_id)


@pytest.mark.filterwarnings("ignore:Passing raw bytes:DeprecationWarning")  # the SDK's own documented call
def test_vectorize_round_trip(cf: Any, emulator: LocalEmulator, budget: RequestBudget) -> None:
    name = f"sdk-{uuid.uuid4().hex[:8]}"
    cf.vectorize.indexes.create(
        account_id=emulator.account_id, name=name, config={"dimensions": 3, "metric": "cosine"}
    )
    try:
        sent = budget.sent
        assert name in [i.name for i in cf.vectorize.indexes.list(account_id=emulator.account_id)]
        assert budget.sent - sent == 1  # SinglePage
        rows = [{"id": "a", "values": [1.0, 0.0, 0.0]}, {"id": "b", "values": [0.0, 1.0, 0.0]}]
        body = "\n".join(json.dumps(r) for r in rows).encode()
        mutation = cf.vectorize.indexes.insert(name, account_id=emulator.account_id, body=body)
        assert mutation is not None and mutation.mutation_id
        for _ in range(40):  # mutations apply asynchronously: read until this one is processed
            info = cf.vectorize.indexes.info(name, account_id=emulator.account_id)
            if info.processed_up_to_mutation == mutation.mutation_id:
                break
        ids, cursor, sent = [], None, budget.sent
        while True:  # list_vectors is not a paginator: the caller follows nextCursor while truncated
            page = cf.vectorize.indexes.list_vectors(
                name, account_id=emulator.account_id, count=1, cursor=cursor
            )
            ids += [v.id for v in page.vectors]
            if not page.is_truncated:
                break
            cursor = page.next_cursor
        assert ids == ["a", "b"] and budget.sent - sent == 2
        found = cf.vectorize.indexes.query(
            name, account_id=emulator.account_id, vector=[1.0, 0.1, 0.0], top_k=1
        )
        assert found is not None and [m.id for m in found.matches or []] == ["a"]
    finally:
        cf.vectorize.indexes.delete(name, account_id=emulator.account_id)


# -- ai.run ---------------------------------------------------------------------------------------------
def test_ai_run_embeddings(cf: Any, emulator: LocalEmulator) -> None:
    result = cf.ai.run("@cf/baai/bge-small-en-v1.5", account_id=emulator.account_id, text=["a", "b"])
    assert result["shape"] == [2, 384] and len(result["data"][0]) == 384


def test_ai_run_gpt_oss_with_messages_answers_a_chat_completion(cf: Any, emulator: LocalEmulator) -> None:
    result = cf.ai.run("@cf/openai/gpt-oss-120b", account_id=emulator.account_id, messages=MESSAGES)
    assert "Paris" in result["choices"][0]["message"]["content"]


def test_ai_search_search(cf: Any, emulator: LocalEmulator, instances: list[str]) -> None:
    found = cf.aisearch.namespaces.instances.search(
        instances[0],
        account_id=emulator.account_id,
        name="default",
        messages=[{"role": "user", "content": "topic 2"}],
    )
    assert found.chunks and found.chunks[0].item.key == "doc-2.md"
