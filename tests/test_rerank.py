"""Reranking over real HTTP against the emulator: ordering, top_k, bge-m3's scoring, bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from workersai import DEFAULT_RERANK_MODEL, BadInput, ModelNotFound, RerankResult, WorkersAI

from .conftest import RequestLog
from .rerank_corpus import FACT, FACT_INDEX, QUESTION, TEXTS

BGE_M3 = "@cf/baai/bge-m3"


def _check_ranking(results: list[RerankResult], count: int) -> None:
    assert len(results) == count
    assert (results[0].index, results[0].text) == (FACT_INDEX, FACT)
    scores = [r.score for r in results]
    assert scores == sorted(scores, reverse=True) and scores[0] > scores[1]
    assert all(r.text == TEXTS[r.index] for r in results)
    assert len({r.index for r in results}) == count


@pytest.mark.parametrize("model", [DEFAULT_RERANK_MODEL, BGE_M3])
def test_the_relevant_text_ranks_first(client: WorkersAI, model: str) -> None:
    results = client.rerank(QUESTION, TEXTS, model=model)
    _check_ranking(results, len(TEXTS))


@pytest.mark.parametrize("model", [DEFAULT_RERANK_MODEL, BGE_M3])
async def test_async_twin_ranks_the_same(client: WorkersAI, model: str) -> None:
    results = await client.arerank(QUESTION, TEXTS, model=model)
    _check_ranking(results, len(TEXTS))
    assert results == client.rerank(QUESTION, TEXTS, model=model)


def _sent(log: RequestLog) -> dict[str, Any]:
    (request,) = log.requests
    body: dict[str, Any] = json.loads(request.content)
    return body


def test_top_k_is_sent_to_the_reranker(logged_client: WorkersAI, request_log: RequestLog) -> None:
    results = logged_client.rerank(QUESTION, TEXTS, top_k=2)
    _check_ranking(results, 2)
    body = _sent(request_log)
    assert request_log.requests[0].url.path.endswith("/ai/run/@cf/baai/bge-reranker-base")
    assert body == {"query": QUESTION, "contexts": [{"text": t} for t in TEXTS], "top_k": 2}


def test_bge_m3_scores_without_top_k_on_the_wire(logged_client: WorkersAI, request_log: RequestLog) -> None:
    # bge-m3's schema has no top_k: the client cuts the sorted answer itself.
    results = logged_client.rerank(QUESTION, TEXTS, top_k=2, model=BGE_M3)
    _check_ranking(results, 2)
    assert _sent(request_log) == {"query": QUESTION, "contexts": [{"text": t} for t in TEXTS]}


def test_reranker_scores_are_in_the_unit_interval(client: WorkersAI) -> None:
    assert all(0.0 <= r.score <= 1.0 for r in client.rerank(QUESTION, TEXTS))


@pytest.mark.parametrize(
    ("query", "texts", "options", "error"),
    [
        ("", TEXTS, {}, BadInput),
        (None, TEXTS, {}, BadInput),
        (QUESTION, [], {}, BadInput),
        (QUESTION, "one string", {}, BadInput),
        (QUESTION, ["fine", ""], {}, BadInput),
        (QUESTION, ["fine", 3], {}, BadInput),
        (QUESTION, TEXTS, {"top_k": 0}, BadInput),
        (QUESTION, TEXTS, {"top_k": True}, BadInput),
        (QUESTION, TEXTS, {"top_k": 1.5}, BadInput),
        (QUESTION, TEXTS, {"model": "@cf/meta/llama-3.1-8b-instruct-fast"}, BadInput),
        (QUESTION, TEXTS, {"model": "@cf/baai/bge-small-en-v1.5"}, BadInput),
        (QUESTION, TEXTS, {"model": "bge-reranker-base"}, ModelNotFound),
    ],
    ids=[
        "empty-query",
        "no-query",
        "no-texts",
        "a-string",
        "empty-text",
        "not-a-string",
        "top_k-0",
        "top_k-bool",
        "top_k-float",
        "chat-model",
        "embedding-model-without-scoring",
        "malformed-model",
    ],
)
@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_bad_input_fails_before_any_request(
    logged_client: WorkersAI,
    request_log: RequestLog,
    query: Any,
    texts: Any,
    options: dict[str, Any],
    error: type[Exception],
    use_async: bool,
) -> None:
    with pytest.raises(error):
        if use_async:
            await logged_client.arerank(query, texts, **options)
        else:
            logged_client.rerank(query, texts, **options)
    assert request_log.requests == []
