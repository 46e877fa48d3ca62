"""The bundled catalog is a dated snapshot of Cloudflare's pages: every entry well formed and sourced."""

from __future__ import annotations

import datetime as dt
import json
import re
from importlib import resources
from urllib.parse import urlparse

import pytest

from workersai.catalog import (
    EMBEDDING,
    EMBEDDING_TASK,
    FAMILIES,
    GENERATION_TASK,
    RERANK,
    TASKS,
    ModelInfo,
    catalog_refreshed,
    catalog_sources,
    get_model,
    models,
    neuron_price_usd,
)

_ID = re.compile(r"^@(cf|hf)/[a-z0-9][a-z0-9._-]*/[A-Za-z0-9][A-Za-z0-9._-]*$")
ENTRIES = list(models().values())


def _raw_entries() -> list[dict[str, object]]:
    text = resources.files("workersai").joinpath("data/models.json").read_text(encoding="utf-8")
    entries = json.loads(text)["models"]
    assert isinstance(entries, list)
    return entries


def _on_cloudflare_docs(url: str | None) -> bool:
    parsed = urlparse(url or "")
    return parsed.scheme == "https" and parsed.netloc == "developers.cloudflare.com"


@pytest.mark.parametrize("info", ENTRIES, ids=lambda i: i.name)
def test_entry_is_well_formed(info: ModelInfo) -> None:
    assert _ID.match(info.name), info.name
    assert info.task in TASKS
    assert _on_cloudflare_docs(info.source), info.source
    assert info.family is None or info.family in FAMILIES
    for price in (info.input_neurons_per_m, info.output_neurons_per_m, info.cached_input_neurons_per_m):
        assert price is None or price >= 0
    for size in (info.dimensions, info.context_window, info.max_input_tokens, info.max_batch):
        assert size is None or size > 0
    assert info.rate_per_minute is None or info.rate_per_minute > 0
    if info.deprecated is not None:
        assert info.deprecated_on is not None


@pytest.mark.parametrize("info", [i for i in ENTRIES if i.is_embedding], ids=lambda i: i.name)
def test_embedding_models_have_dimensions_and_the_embedding_family(info: ModelInfo) -> None:
    assert info.dimensions is not None and 1 <= info.dimensions <= 1536  # Vectorize's ceiling
    assert info.family == EMBEDDING
    assert not info.function_calling and not info.reasoning


def test_families_follow_tasks() -> None:
    for info in ENTRIES:
        if info.task == GENERATION_TASK:
            assert info.family in (None, "legacy", "openai", "responses"), info.name
        if info.family == RERANK:
            assert info.is_reranker and not info.is_generation


def test_ids_are_unique() -> None:
    names = [e["name"] for e in _raw_entries()]
    assert len(names) == len(set(names)) == len(models())


def test_refresh_date_and_sources() -> None:
    refreshed = catalog_refreshed()
    assert isinstance(refreshed, dt.date)
    assert dt.date(2026, 1, 1) <= refreshed <= dt.date.today()
    sources = catalog_sources()
    assert {"pricing", "limits"} <= set(sources)
    assert all(_on_cloudflare_docs(url) for url in sources.values())


def test_prices_are_none_when_unknown_never_zero() -> None:
    unknown = [i for i in ENTRIES if not i.has_price]
    assert unknown, "the snapshot has models without a published price"
    for info in unknown:
        assert info.input_neurons_per_m is None
        assert not hasattr(info, "neurons_per_m_input")  # the accessors that read unknown as 0 are gone
    llama = get_model("@cf/meta/llama-3.1-8b-instruct")
    assert llama is not None
    assert (llama.input_neurons_per_m, llama.output_neurons_per_m) == (25608, 75147)
    assert neuron_price_usd() == pytest.approx(0.011 / 1000)


@pytest.mark.parametrize(
    ("name", "family"),
    [
        ("@cf/meta/llama-3.3-70b-instruct-fp8-fast", "legacy"),
        ("@cf/meta/llama-4-scout-17b-16e-instruct", "legacy"),
        ("@cf/openai/gpt-oss-120b", "responses"),
        ("@cf/openai/gpt-oss-20b", "responses"),
        ("@cf/qwen/qwen3-30b-a3b-fp8", "openai"),
        ("@cf/zai-org/glm-4.7-flash", "openai"),
        ("@cf/moonshotai/kimi-k2.6", "openai"),
        ("@cf/deepseek-ai/deepseek-r1-distill-qwen-32b", "legacy"),
        ("@cf/baai/bge-m3", "embedding"),
        ("@cf/baai/bge-reranker-base", "rerank"),
    ],
)
def test_todays_models_are_present_with_their_family(name: str, family: str) -> None:
    info = get_model(name)
    assert info is not None and info.family == family


def test_capabilities_from_the_pages() -> None:
    def model(name: str) -> ModelInfo:
        info = get_model(name)
        assert info is not None
        return info

    assert model("@cf/meta/llama-3.2-11b-vision-instruct").vision
    assert model("@cf/meta/llama-4-scout-17b-16e-instruct").vision
    assert model("@cf/deepseek-ai/deepseek-r1-distill-qwen-32b").reasoning
    assert model("@cf/qwen/qwq-32b").reasoning
    assert not model("@cf/meta/llama-3.2-1b-instruct").reasoning
    kimi = model("@cf/moonshotai/kimi-k2.6")
    assert kimi.requires_paid_plan and kimi.rate_per_minute == 20
    assert model("@cf/baai/bge-large-en-v1.5").rate_per_minute == 1500
    assert model("@cf/baai/bge-reranker-base").task == "Text Classification"
    gemma3 = model("@cf/google/gemma-3-12b-it")
    assert gemma3.is_deprecated(dt.date(2026, 6, 1)) and not gemma3.is_deprecated(dt.date(2026, 5, 1))
    small = model("@cf/baai/bge-small-en-v1.5")
    assert small.task == EMBEDDING_TASK and small.dimensions == 384
