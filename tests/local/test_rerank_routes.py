"""``{query, contexts}`` scoring at the emulator over raw HTTP (no client code in the request path):
bge-reranker-base's and bge-m3's answers as their pages state them, and the schema's refusals."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from workersai.local import LocalEmulator

from ..rerank_corpus import FACT_INDEX, QUESTION, TEXTS

RERANKER = "@cf/baai/bge-reranker-base"
BGE_M3 = "@cf/baai/bge-m3"
CONTEXTS = [{"text": t} for t in TEXTS]


@pytest.fixture
def http(emulator: LocalEmulator) -> Iterator[httpx.Client]:
    base = f"{emulator.base_url}/accounts/{emulator.account_id}"
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {emulator.token}"}, timeout=60) as c:
        yield c


def run(http: httpx.Client, model: str, body: dict[str, Any]) -> httpx.Response:
    return http.post(f"/ai/run/{model}", json=body)


@pytest.mark.parametrize("model", [RERANKER, BGE_M3])
def test_scores_come_back_best_first_by_context_index(http: httpx.Client, model: str) -> None:
    response = run(http, model, {"query": QUESTION, "contexts": CONTEXTS})
    assert response.status_code == 200, response.text
    envelope = response.json()
    assert envelope["success"] is True
    items = envelope["result"]["response"]
    assert sorted(item["id"] for item in items) == list(range(len(TEXTS)))
    assert all(set(item) == {"id", "score"} and isinstance(item["score"], float) for item in items)
    scores = [item["score"] for item in items]
    assert scores == sorted(scores, reverse=True)
    assert items[0]["id"] == FACT_INDEX and scores[0] > scores[1]


def test_reranker_top_k_keeps_the_best(http: httpx.Client) -> None:
    whole = run(http, RERANKER, {"query": QUESTION, "contexts": CONTEXTS}).json()["result"]["response"]
    top = run(http, RERANKER, {"query": QUESTION, "contexts": CONTEXTS, "top_k": 2}).json()["result"]
    assert top["response"] == whole[:2]
    assert all(0.0 <= item["score"] <= 1.0 for item in whole)  # the page: scores map to [0, 1]


def test_the_same_request_scores_the_same(http: httpx.Client) -> None:
    body = {"query": QUESTION, "contexts": CONTEXTS}
    assert run(http, RERANKER, body).json() == run(http, RERANKER, body).json()


def test_bge_m3_without_a_query_answers_the_contexts_embeddings(http: httpx.Client) -> None:
    response = run(http, BGE_M3, {"contexts": CONTEXTS[:2]})
    assert response.status_code == 200, response.text
    vectors = response.json()["result"]["response"]
    assert len(vectors) == 2 and all(len(v) == 1024 for v in vectors)


def test_bge_m3_still_embeds_text(http: httpx.Client) -> None:
    result = run(http, BGE_M3, {"text": ["one", "two"]}).json()["result"]
    assert result["shape"] == [2, 1024]


@pytest.mark.parametrize(
    ("model", "body", "words"),
    [
        (RERANKER, {"contexts": CONTEXTS}, "'query'"),
        (RERANKER, {"query": "", "contexts": CONTEXTS}, "'/query'"),
        (RERANKER, {"query": 3, "contexts": CONTEXTS}, "'/query'"),
        (RERANKER, {"query": QUESTION}, "'contexts'"),
        (RERANKER, {"query": QUESTION, "contexts": "text"}, "'/contexts'"),
        (RERANKER, {"query": QUESTION, "contexts": []}, "'/contexts'"),
        (RERANKER, {"query": QUESTION, "contexts": [{"text": "a"}, {"text": ""}]}, "'/contexts/1/text'"),
        (RERANKER, {"query": QUESTION, "contexts": ["a"]}, "'/contexts/0/text'"),
        (RERANKER, {"query": QUESTION, "contexts": CONTEXTS, "top_k": 0}, "'/top_k'"),
        (RERANKER, {"query": QUESTION, "contexts": CONTEXTS, "top_k": "2"}, "'/top_k'"),
        (RERANKER, {"text": "This pizza is great!"}, "'query'"),
        (BGE_M3, {"query": "", "contexts": CONTEXTS}, "'/query'"),
        (BGE_M3, {"query": QUESTION, "contexts": CONTEXTS, "truncate_inputs": "yes"}, "truncate_inputs"),
    ],
)
def test_the_schema_refuses_bad_input(
    http: httpx.Client, model: str, body: dict[str, Any], words: str
) -> None:
    response = run(http, model, body)
    assert response.status_code == 400, response.text
    error = response.json()["errors"][0]
    assert error["code"] == 5006 and words in error["message"], error
