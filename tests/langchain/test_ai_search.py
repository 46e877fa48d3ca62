"""LangChain's AISearchRetriever and AISearchChain over real HTTP against the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from langchain_core.messages import HumanMessage
from langchain_core.runnables import RunnableLambda

from langchain_workersai import AISearchChain, AISearchRetriever
from workersai import BadInput, WorkersAI
from workersai.local import LocalEmulator

from ..conftest import ai_search_instance

DOCS = {
    "harbor/ships.md": "The ship Velvet Albatross docks at Pier 14 in the harbor of Drennick.",
    "harbor/tides.md": "High tide in Drennick comes at 5:40 in the morning during winter.",
    "kitchen/soup.md": "Chef Ysolde's nettle soup needs three cloves of black garlic.",
}


@pytest.fixture(scope="module")
def instance(emulator: LocalEmulator) -> Iterator[tuple[WorkersAI, str]]:
    with ai_search_instance(emulator, DOCS) as made:
        yield made


def test_retriever_documents_carry_file_chunk_and_score(instance: tuple[WorkersAI, str]) -> None:
    client, name = instance
    retriever = AISearchRetriever(instance=name, client=client, max_num_results=2)
    docs = retriever.invoke("Where does the Velvet Albatross dock?")
    assert len(docs) <= 2
    top = docs[0]
    assert "Pier 14" in top.page_content
    assert top.metadata["filename"] == "harbor/ships.md"
    assert top.metadata["chunk_id"] == top.id
    assert top.metadata["score"] > 0 and "vector_score" in top.metadata["scoring_details"]


def test_retriever_options_pass_through(instance: tuple[WorkersAI, str]) -> None:
    client, name = instance
    retriever = AISearchRetriever(instance=name, client=client, score_threshold=0.0)
    query = "Where does the Velvet Albatross dock?"
    in_kitchen = retriever.invoke(query, filters={"folder": "kitchen/"})
    assert [d.metadata["filename"] for d in in_kitchen] == ["kitchen/soup.md"]
    assert len(retriever.invoke(query, max_num_results=1)) == 1
    reranked = retriever.invoke(query, reranking=True)
    assert "reranking_score" in reranked[0].metadata["scoring_details"]
    with pytest.raises(BadInput):
        retriever.invoke(query, max_num_results=99)


def test_retriever_async(instance: tuple[WorkersAI, str]) -> None:
    client, name = instance
    retriever = AISearchRetriever(instance=name, client=client)
    docs = asyncio.run(retriever.ainvoke("How many cloves of black garlic go in the nettle soup?"))
    assert docs[0].metadata["filename"] == "kitchen/soup.md"


def test_chain_answers_with_sources(instance: tuple[WorkersAI, str]) -> None:
    client, name = instance
    chain = AISearchChain(instance=name, client=client)
    out = chain.invoke("When is high tide in Drennick in winter?")
    assert "5:40" in out["answer"]
    assert out["sources"][0].metadata["filename"] == "harbor/tides.md"
    out = chain.invoke({"question": "Where does the Velvet Albatross dock?"})
    assert out["sources"][0].metadata["filename"] == "harbor/ships.md"
    out = chain.invoke([HumanMessage("How many cloves of black garlic go in the nettle soup?")])
    assert "three" in out["answer"]


def test_chain_composes_and_runs_async(instance: tuple[WorkersAI, str]) -> None:
    client, name = instance
    pipeline = AISearchChain(instance=name, client=client) | RunnableLambda(
        lambda out: f"{out['answer']} (from {out['sources'][0].metadata['filename']})"
    )
    text = asyncio.run(pipeline.ainvoke("Where does the Velvet Albatross dock?"))
    assert text.endswith("(from harbor/ships.md)") and "Pier 14" in text
