"""``create_metadata_index(..., exist_ok=True)`` runs twice (the README's setup snippets can be rerun), in
the core and in both stores; without it, or with another type, the second create still raises."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from workersai import Conflict, WorkersAI
from workersai.local import LocalEmulator


@pytest.fixture
def index(client: WorkersAI) -> Iterator[str]:
    name = f"mdx-{uuid.uuid4().hex[:10]}"
    client.vectorize.create_index(name, dimensions=4)
    yield name
    client.vectorize.delete_index(name)


def test_core_create_twice_with_exist_ok(client: WorkersAI, index: str) -> None:
    vz = client.vectorize
    assert vz.create_metadata_index(index, "lang", "string", wait=True, exist_ok=True)
    assert vz.create_metadata_index(index, "lang", "string", wait=True, exist_ok=True) is None
    assert vz.list_metadata_indexes(index) == {"lang": "string"}
    with pytest.raises(Conflict):
        vz.create_metadata_index(index, "lang", "string", wait=True)
    with pytest.raises(Conflict):  # exists with another type: not what was asked for
        vz.create_metadata_index(index, "lang", "number", wait=True, exist_ok=True)


async def test_core_async_create_twice_with_exist_ok(client: WorkersAI, index: str) -> None:
    vz = client.vectorize
    await vz.acreate_metadata_index(index, "n", "number", wait=True, exist_ok=True)
    assert await vz.acreate_metadata_index(index, "n", "number", wait=True, exist_ok=True) is None
    with pytest.raises(Conflict):
        await vz.acreate_metadata_index(index, "n", "number", wait=True)


@pytest.fixture
def conn(emulator: LocalEmulator) -> dict[str, Any]:
    return {"account_id": emulator.account_id, "api_key": emulator.token, "base_url": emulator.base_url}


def test_langchain_store_create_twice(conn: dict[str, Any]) -> None:
    from langchain_core.embeddings import DeterministicFakeEmbedding

    from langchain_workersai import VectorizeVectorStore

    store = VectorizeVectorStore(f"mdx-{uuid.uuid4().hex[:10]}", DeterministicFakeEmbedding(size=4), **conn)
    store.create_index(dimensions=4)
    try:
        for _ in range(2):
            store.create_metadata_index("lang", "string", exist_ok=True)
        with pytest.raises(Conflict):
            store.create_metadata_index("lang", "string")
    finally:
        store.client.vectorize.delete_index(store.index_name)


async def test_llamaindex_store_create_twice(conn: dict[str, Any]) -> None:
    from llamaindex_workersai import VectorizeVectorStore

    store = VectorizeVectorStore(f"mdx-{uuid.uuid4().hex[:10]}", **conn)
    store.create_index(4)
    try:
        for _ in range(2):
            store.create_metadata_index("lang", "string", exist_ok=True)
        await store.acreate_metadata_index("lang", "string", exist_ok=True)
        with pytest.raises(Conflict):
            store.create_metadata_index("lang", "string")
    finally:
        store.client.vectorize.delete_index(store.index_name)
