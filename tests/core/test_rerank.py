"""The rerank request and the reading of its answer, without a server."""

from __future__ import annotations

from typing import Any

import pytest

from workersai import BadInput, ResponseFormatError
from workersai.rerank import RerankRequest, RerankResult

TEXTS = ["a", "b", "c"]


def test_the_body_follows_the_page() -> None:
    request = RerankRequest.build("q", TEXTS, top_k=2)
    assert request.payload == {
        "query": "q",
        "contexts": [{"text": "a"}, {"text": "b"}, {"text": "c"}],
        "top_k": 2,
    }
    assert "top_k" not in RerankRequest.build("q", TEXTS, top_k=2, model="@cf/baai/bge-m3").payload
    # a model the catalog lacks is sent as a reranker (top_k included); the service decides
    assert RerankRequest.build("q", TEXTS, top_k=1, model="@cf/baai/bge-reranker-v9").payload["top_k"] == 1


def test_an_unsorted_answer_is_sorted_and_cut() -> None:
    answer = {"response": [{"id": 0, "score": 0.1}, {"id": 2, "score": 0.9}, {"id": 1, "score": 0.5}]}
    assert RerankRequest.build("q", TEXTS, top_k=2).parse(answer) == [
        RerankResult(2, 0.9, "c"),
        RerankResult(1, 0.5, "b"),
    ]
    # ties keep the texts' order; integer scores are floats
    tied = {"response": [{"id": 1, "score": 1}, {"id": 0, "score": 1}]}
    assert RerankRequest.build("q", TEXTS).parse(tied) == [
        RerankResult(0, 1.0, "a"),
        RerankResult(1, 1.0, "b"),
    ]


def test_a_check_can_be_skipped_for_the_catalog_only() -> None:
    with pytest.raises(BadInput):
        RerankRequest.build("q", TEXTS, model="@cf/meta/llama-3.1-8b-instruct-fast")
    RerankRequest.build("q", TEXTS, model="@cf/meta/llama-3.1-8b-instruct-fast", use_catalog=False)


@pytest.mark.parametrize(
    "answer",
    [
        None,
        {"result": []},
        {"response": [[0.1, 0.2]]},
        {"response": [{"id": 3, "score": 0.5}]},
        {"response": [{"id": -1, "score": 0.5}]},
        {"response": [{"id": True, "score": 0.5}]},
        {"response": [{"id": 0, "score": "high"}]},
        {"response": [{"id": 0}]},
        {"response": [{"id": 0, "score": 0.5}, {"id": 0, "score": 0.4}]},
    ],
    ids=[
        "none",
        "no-response",
        "embeddings",
        "id-past-end",
        "negative-id",
        "bool-id",
        "text-score",
        "no-score",
        "twice",
    ],
)
def test_a_wrong_answer_is_a_format_error(answer: Any) -> None:
    with pytest.raises(ResponseFormatError):
        RerankRequest.build("q", TEXTS).parse(answer)
