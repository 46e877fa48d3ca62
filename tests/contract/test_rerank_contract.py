"""Contract for reranking (#15): the client accepts a ``(query, texts, top_k)`` for a scoring model (its
pre-request checks raise no ``BadInput``) if and only if the emulator answers 200 to it. What the
client accepts is sent as the client builds it; what it refuses is sent raw, bypassing the client.

The emulator states the pages' rules itself (:mod:`workersai.local.rules.rerank`), the client its own
(:mod:`workersai.rerank`); this test holds the two together."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from workersai import BadInput
from workersai.rerank import RerankRequest

MODELS = ["@cf/baai/bge-reranker-base", "@cf/baai/bge-m3"]
CASES: dict[str, tuple[Any, Any, Any]] = {
    "plain": ("which?", ["a cyberpunk lizard", "a cyberpunk cat"], None),
    "top_k": ("which?", ["a", "b", "c"], 2),
    "top_k past the texts": ("which?", ["a", "b"], 5),
    "one-character texts": ("q", ["a", " "], 1),
    "blank query": (" ", ["a"], None),
    "empty query": ("", ["a"], None),
    "no texts": ("which?", [], None),
    "an empty text": ("which?", ["a", ""], None),
    "a number as text": ("which?", ["a", 3], None),
    "top_k 0": ("which?", ["a"], 0),
    "top_k negative": ("which?", ["a"], -1),
    "top_k text": ("which?", ["a"], "2"),
}


@pytest.fixture(scope="module")
def http(emulator: Any) -> Iterator[httpx.Client]:
    base = f"{emulator.base_url}/accounts/{emulator.account_id}"
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {emulator.token}"}, timeout=60) as c:
        yield c


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("case", list(CASES))
def test_client_accepts_input_iff_the_emulator_does(http: httpx.Client, model: str, case: str) -> None:
    query, texts, top_k = CASES[case]
    try:
        body, accepted = RerankRequest.build(query, texts, top_k=top_k, model=model).payload, True
    except BadInput:
        body, accepted = {"query": query, "contexts": [{"text": t} for t in texts]}, False
        if top_k is not None:
            body["top_k"] = top_k
    response = http.post(f"/ai/run/{model}", json=body)
    if not accepted and model == "@cf/baai/bge-m3" and "top_k" in case:
        # bge-m3's schema has no top_k: the client refuses a bad one for every model, the service
        # never reads it for bge-m3 (the emulator ignores it too).
        assert response.status_code == 200
        return
    assert (response.status_code == 200) == accepted, (case, model, accepted, response.text)
    if not accepted:
        assert response.json()["errors"][0]["code"] == 5006
