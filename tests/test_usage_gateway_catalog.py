"""Usage accounting, AI Gateway routing and caching, and the model catalog."""

from __future__ import annotations

import httpx
import pytest

from workersai import DEFAULT_CHAT_MODEL, ConfigurationError, GatewayOptions, WorkersAI, track_usage
from workersai.catalog import get_model
from workersai.local import LocalEmulator
from workersai.usage import estimate_neurons


def test_usage_is_summed_per_model_with_neurons(client: WorkersAI) -> None:
    with track_usage() as usage:
        first = client.chat("hello", max_tokens=5)
        second = client.chat("hello again", max_tokens=5, model="@cf/meta/llama-3.2-1b-instruct")
        client.embed(["a text to embed"] * 3, model="@cf/baai/bge-base-en-v1.5")
    assert first.usage and second.usage
    llama = usage.by_model[DEFAULT_CHAT_MODEL]
    assert (llama.requests, llama.prompt_tokens, llama.completion_tokens) == (
        1,
        first.usage.prompt_tokens,
        first.usage.completion_tokens,
    )
    info = get_model(DEFAULT_CHAT_MODEL)
    assert info is not None
    assert info.input_neurons_per_m is not None and info.output_neurons_per_m is not None
    expected = (
        first.usage.prompt_tokens * info.input_neurons_per_m
        + first.usage.completion_tokens * info.output_neurons_per_m
    ) / 1e6
    assert llama.neurons == pytest.approx(expected)
    embed = usage.by_model["@cf/baai/bge-base-en-v1.5"]
    assert embed.estimated_tokens and embed.prompt_tokens > 0
    assert usage.total_neurons == pytest.approx(sum(u.neurons or 0.0 for u in usage.by_model.values()))
    assert usage.total_neurons is not None and usage.unpriced_models == []
    assert usage.estimated_cost_usd == pytest.approx(usage.total_neurons * 0.011 / 1000)
    assert usage.summary() == (
        f"{usage.total_tokens} tokens, about {usage.total_neurons:.2f} neurons "
        f"(${usage.estimated_cost_usd:.6f} at the paid rate)"
    )


def test_a_model_without_a_known_price_reports_tokens_and_no_neurons(client: WorkersAI) -> None:
    unpriced = "@cf/meta/llama-3.1-8b-instruct-fast"  # served, but not on the pricing page
    info = get_model(unpriced)
    assert info is not None and not info.has_price
    with track_usage() as usage:
        client.chat("hello", max_tokens=5)
        answer = client.chat("hello", max_tokens=5, model=unpriced)
    assert answer.usage and answer.usage.completion_tokens > 0
    entry = usage.by_model[unpriced]
    assert (entry.prompt_tokens, entry.completion_tokens) == (
        answer.usage.prompt_tokens,
        answer.usage.completion_tokens,
    )
    assert entry.neurons is None  # unknown, not 0
    assert usage.by_model[DEFAULT_CHAT_MODEL].neurons  # the priced one keeps its figure
    assert usage.unpriced_models == [unpriced]
    assert usage.total_neurons is None and usage.estimated_cost_usd is None
    assert usage.total_tokens == entry.total_tokens + usage.by_model[DEFAULT_CHAT_MODEL].total_tokens
    # what the examples print: no crash formatting None, and the model to blame
    assert usage.summary().endswith(f"neurons unknown: no price in the catalog for {unpriced}")


async def test_usage_nests_and_covers_streams_and_async(client: WorkersAI) -> None:
    with track_usage() as outer:
        with track_usage() as inner:
            async for _ in client.astream_chat("hi", max_tokens=4):
                pass
        await client.achat("hi", max_tokens=4)
    assert inner.by_model[DEFAULT_CHAT_MODEL].requests == 1
    assert outer.by_model[DEFAULT_CHAT_MODEL].requests == 2
    assert outer.by_model[DEFAULT_CHAT_MODEL].completion_tokens == 8


def test_unknown_prices_are_none_never_zero() -> None:
    assert estimate_neurons("@cf/someone/unknown", 1000, 1000) is None  # not in the catalog
    assert estimate_neurons("@cf/google/embeddinggemma-300m", 1000) is None  # no published price
    # An embedding model has an input price only: its input tokens are priced, output tokens are not.
    assert estimate_neurons("@cf/baai/bge-m3", 1_000_000) == pytest.approx(1075)
    assert estimate_neurons("@cf/baai/bge-m3", 1000, 10) is None


def test_gateway_routes_and_caches(emulator: LocalEmulator) -> None:
    statuses: list[tuple[str, str | None]] = []

    def hook(response: httpx.Response) -> None:
        statuses.append((response.request.url.path, response.headers.get("cf-aig-cache-status")))

    http = httpx.Client(event_hooks={"response": [hook]})
    with emulator.client(gateway_id="my-gateway", gateway_route="url", http_client=http) as client:
        cached = GatewayOptions(cache_ttl=60, metadata={"user": "u1"})
        a = client.embed(["cache me"], gateway=cached)
        b = client.embed(["cache me"], gateway=cached)
        c = client.embed(["cache me"], gateway=GatewayOptions(cache_ttl=60, skip_cache=True))
    assert a == b == c
    assert [s for _, s in statuses] == ["MISS", "HIT", "BYPASS"]
    assert all(p.startswith(f"/v1/{emulator.account_id}/my-gateway/workers-ai/@cf/") for p, _ in statuses)


def test_gateway_token_is_checked(tmp_path: object) -> None:
    with LocalEmulator(gateway_token="gw-secret") as emu:
        with emu.client(gateway_id="g", gateway_route="url", gateway_token="gw-secret") as ok:
            assert ok.embed(["x"])
        with (
            emu.client(gateway_id="g", gateway_route="url", gateway_token="wrong", max_retries=0) as bad,
            pytest.raises(Exception) as info,
        ):
            bad.embed(["x"])
        assert getattr(info.value, "status", None) == 401


def test_gateway_metadata_limit() -> None:
    with pytest.raises(ConfigurationError, match="at most 5"):
        GatewayOptions(metadata={str(i): i for i in range(6)}).headers()


def test_models_search(client: WorkersAI) -> None:
    embeddings = client.models(task="Text Embeddings")
    names = {m.name for m in embeddings}
    assert {"@cf/baai/bge-small-en-v1.5", "@cf/baai/bge-base-en-v1.5", "@cf/baai/bge-large-en-v1.5"} <= names
    assert all(m.task == "Text Embeddings" for m in embeddings)
    assert client.models(search="llama-3.3")[0].name == "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
