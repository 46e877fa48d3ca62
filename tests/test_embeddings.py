"""Embeddings over real HTTP: real semantics, real shapes, batching that keeps order, clear bad input."""

from __future__ import annotations

import math

import pytest

from workersai import BadInput, ModelNotFound, WorkersAI

from .conftest import RequestLog


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


@pytest.mark.parametrize(
    ("model", "dims"),
    [
        ("@cf/baai/bge-small-en-v1.5", 384),
        ("@cf/baai/bge-base-en-v1.5", 768),
        ("@cf/baai/bge-large-en-v1.5", 1024),
    ],
)
def test_shapes_match_the_real_models(client: WorkersAI, model: str, dims: int) -> None:
    result = client.run(model, {"text": ["a", "b", "c"]})
    assert result["shape"] == [3, dims]
    assert result["pooling"] == "mean"
    vectors = client.embed(["hello world"], model=model)
    assert len(vectors) == 1 and len(vectors[0]) == dims
    assert all(type(x) is float for x in vectors[0])


@pytest.mark.parametrize("model", ["@cf/baai/bge-small-en-v1.5", "@cf/baai/bge-large-en-v1.5"])
def test_close_texts_score_closer_than_unrelated(client: WorkersAI, model: str) -> None:
    food, bread, movie, drums = client.embed(
        [
            "A man is eating food.",
            "A man is eating a piece of bread.",
            "The new movie is awesome.",
            "A monkey is playing drums.",
        ],
        model=model,
    )
    assert cosine(food, bread) > 0.6
    assert cosine(food, bread) > cosine(food, movie) + 0.3
    assert cosine(food, bread) > cosine(food, drums) + 0.3


def test_projection_keeps_cosine_scores(client: WorkersAI) -> None:
    texts = ["the cat sat on the mat", "a kitten rests on a rug", "quarterly tax filing deadline"]
    small = client.embed(texts, model="@cf/baai/bge-small-en-v1.5")
    large = client.embed(texts, model="@cf/baai/bge-large-en-v1.5")
    for i in range(3):
        for j in range(3):
            assert cosine(small[i], small[j]) == pytest.approx(cosine(large[i], large[j]), abs=1e-4)


def test_pooling_option(client: WorkersAI) -> None:
    mean = client.embed(["pooling matters here"], pooling="mean")[0]
    cls = client.embed(["pooling matters here"], pooling="cls")[0]
    assert cosine(mean, cls) < 0.999


def test_batches_above_100_keep_order(logged_client: WorkersAI, request_log: RequestLog) -> None:
    texts = [f"note {i}: item number {i} of the list" for i in range(250)]
    vectors = logged_client.embed(texts, model="@cf/baai/bge-small-en-v1.5")
    assert len(vectors) == 250
    assert len(request_log.requests) == 3  # 100 + 100 + 50
    for i in (0, 99, 100, 173, 249):
        alone = logged_client.embed([texts[i]], model="@cf/baai/bge-small-en-v1.5")[0]
        assert cosine(vectors[i], alone) > 0.9999


async def test_async_batches_keep_order(logged_client: WorkersAI, request_log: RequestLog) -> None:
    texts = [f"entry {i} in an async batch" for i in range(205)]
    vectors = await logged_client.aembed(texts, model="@cf/baai/bge-small-en-v1.5", batch_size=50)
    assert len(vectors) == 205
    assert len(request_log.requests) == 5
    sync = logged_client.embed([texts[204], texts[0]], model="@cf/baai/bge-small-en-v1.5")
    assert cosine(vectors[204], sync[0]) > 0.9999
    assert cosine(vectors[0], sync[1]) > 0.9999


@pytest.mark.parametrize(
    ("texts", "message"),
    [
        ([], "must not be empty"),
        (["ok", ""], "texts[1] is empty"),
        (["   "], "texts[0] is empty"),
        ("just a string", "not one string"),
        (["ok", 3], "texts[1] is int"),
    ],
)
def test_bad_texts_fail_before_any_request(
    logged_client: WorkersAI, request_log: RequestLog, texts: object, message: str
) -> None:
    with pytest.raises(BadInput, match=message.replace("[", r"\[").replace("]", r"\]")):
        logged_client.embed(texts)  # type: ignore[arg-type]
    assert request_log.requests == []


def test_malformed_or_wrong_model_fails_before_any_request(
    logged_client: WorkersAI, request_log: RequestLog
) -> None:
    with pytest.raises(ModelNotFound, match="not a Workers AI model id"):
        logged_client.embed(["x"], model="../../etc/passwd")
    with pytest.raises(BadInput, match="Text Generation model"):
        logged_client.embed(["x"], model="@cf/meta/llama-3.1-8b-instruct-fast")
    with pytest.raises(BadInput, match="Text Embeddings model"):
        logged_client.chat("x", model="@cf/baai/bge-base-en-v1.5")
    assert request_log.requests == []


def test_a_model_the_catalog_lacks_goes_to_the_service(
    logged_client: WorkersAI, request_log: RequestLog
) -> None:
    # Well-formed but unknown to the bundled catalog: sent, and the service decides (5007 here).
    with pytest.raises(ModelNotFound) as info:
        logged_client.embed(["x"], model="@cf/baai/bge-huge-en-v9")
    assert (info.value.code, len(request_log.requests)) == (5007, 1)
    with pytest.raises(ModelNotFound) as info:
        logged_client.chat("hi", model="@cf/newlab/model-from-next-year")
    assert info.value.code == 5007


def test_openai_compatible_embeddings(client: WorkersAI) -> None:
    response = client.transport.request(
        "POST",
        client.account_url("ai/v1/embeddings"),
        json={"model": "@cf/baai/bge-small-en-v1.5", "input": ["a b"]},
    )
    body = response.json()
    assert body["object"] == "list"
    assert len(body["data"][0]["embedding"]) == 384
    assert body["usage"]["prompt_tokens"] == 2
