"""LlamaIndex's AISearchRetriever and AISearchQueryEngine over real HTTP against the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from llamaindex_workersai import AISearchQueryEngine, AISearchRetriever
from workersai import BadInput, WorkersAI
from workersai.local import LocalEmulator

from ..conftest import ai_search_instance

DOCS = {
    "orchard/apples.md": "The Glimmerkin apple tree in the north orchard gives fruit only in October.",
    "orchard/bees.md": "The orchard's bees are kept in seven blue hives by beekeeper Taddeus.",
    "mill/wheels.md": "The old mill wheel on the river Sorrel turns eleven times a minute.",
}


@pytest.fixture(scope="module")
def instance(emulator: LocalEmulator) -> Iterator[tuple[WorkersAI, str]]:
    with ai_search_instance(emulator, DOCS) as made:
        yield made


def test_retriever_nodes_carry_file_chunk_and_score(instance: tuple[WorkersAI, str]) -> None:
    client, name = instance
    retriever = AISearchRetriever(name, client=client, max_num_results=2)
    nodes = retriever.retrieve("How many hives do the orchard's bees live in?")
    assert 1 <= len(nodes) <= 2
    top = nodes[0]
    assert "seven blue hives" in top.node.get_content()
    assert top.node.metadata["filename"] == "orchard/bees.md"
    assert top.node.metadata["chunk_id"] == top.node.node_id
    assert top.score == top.node.metadata["score"] and top.score is not None and top.score > 0


def test_retriever_options_and_async(instance: tuple[WorkersAI, str]) -> None:
    client, name = instance
    only_mill = AISearchRetriever(name, client=client, filters={"folder": "mill/"}, score_threshold=0.0)
    nodes = asyncio.run(only_mill.aretrieve("How many hives do the orchard's bees live in?"))
    assert [n.node.metadata["filename"] for n in nodes] == ["mill/wheels.md"]
    with pytest.raises(BadInput):
        AISearchRetriever(name, client=client, score_threshold=2.0).retrieve("anything")


def test_query_engine_answers_with_source_nodes(instance: tuple[WorkersAI, str]) -> None:
    client, name = instance
    engine = AISearchQueryEngine(name, client=client)
    response = engine.query("How many times a minute does the mill wheel on the Sorrel turn?")
    assert "eleven" in str(response)
    assert response.source_nodes[0].node.metadata["filename"] == "mill/wheels.md"
    response = asyncio.run(engine.aquery("In which month does the Glimmerkin apple tree give fruit?"))
    assert "October" in str(response)
    assert response.source_nodes[0].node.metadata["filename"] == "orchard/apples.md"
