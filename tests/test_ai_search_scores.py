"""AI Search scores are on the scale ``score_threshold`` filters on (issue #28, item 5).

The service filters on the vector similarity (0-1, default threshold 0.4) but answers each chunk's fused
``score`` (rrf: about 0.016-0.033) ("The threshold filters on the vector similarity score, not the fused
score returned in the response": developers.cloudflare.com/ai-search/configuration/retrieval-configuration/).
A user who compares scores with the threshold, or a framework cutoff such as LlamaIndex's
``SimilarityPostprocessor(similarity_cutoff=0.4)``, got nothing; ``score`` is now the vector similarity
in the core and both adapters, ``fused_score`` the service's rank score."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from llama_index.core.postprocessor import SimilarityPostprocessor

from langchain_workersai import AISearchRetriever as LangChainRetriever
from llamaindex_workersai import AISearchRetriever as LlamaIndexRetriever
from workersai import WorkersAI
from workersai.ai_search import SearchChunk
from workersai.local import LocalEmulator

from .conftest import ai_search_instance

DOCS = {"notes/farnland.md": "Quibbleton is the capital of Farnland."}
QUERY = "What is the capital of Farnland?"


@pytest.fixture(scope="module")
def instance(emulator: LocalEmulator) -> Iterator[tuple[WorkersAI, str, float]]:
    with ai_search_instance(emulator, DOCS) as (client, name):
        threshold = client.ai_search.get_instance(name).score_threshold
        assert threshold == 0.4  # the service's default match_threshold (API reference)
        yield client, name, threshold


def test_core_score_is_on_the_threshold_scale(instance: tuple[WorkersAI, str, float]) -> None:
    client, name, threshold = instance
    (chunk,) = client.ai_search.search(name, QUERY).chunks  # the instance's default threshold
    assert chunk.score >= threshold
    assert chunk.score == chunk.scoring_details["vector_score"]  # type: ignore[index]
    assert chunk.fused_score is not None and 0 < chunk.fused_score < threshold  # rrf, another scale


def test_llamaindex_similarity_cutoff_at_the_threshold_keeps_the_match(
    instance: tuple[WorkersAI, str, float],
) -> None:
    client, name, threshold = instance
    nodes = LlamaIndexRetriever(name, client=client).retrieve(QUERY)
    kept = SimilarityPostprocessor(similarity_cutoff=threshold).postprocess_nodes(nodes)
    assert [n.node.metadata["filename"] for n in kept] == ["notes/farnland.md"]
    assert kept[0].node.metadata["fused_score"] < kept[0].score  # type: ignore[operator]


def test_langchain_score_metadata_is_on_the_threshold_scale(instance: tuple[WorkersAI, str, float]) -> None:
    client, name, threshold = instance
    (doc,) = LangChainRetriever(instance=name, client=client).invoke(QUERY)
    assert doc.metadata["score"] >= threshold > doc.metadata["fused_score"]


def test_without_a_vector_score_both_scores_are_the_wire_score() -> None:
    wire = {
        "id": "c1",
        "score": 0.7,
        "text": "t",
        "item": {"key": "k"},
        "scoring_details": {"keyword_score": 2},
    }
    chunk = SearchChunk.model_validate(wire)
    assert (chunk.score, chunk.fused_score) == (0.7, 0.7)
    assert SearchChunk.model_validate(chunk.model_dump()) == chunk  # a dump reads back unchanged
