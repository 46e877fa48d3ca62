"""Usage accounting, AI Gateway routing and caching, and the model catalog."""

from __future__ import annotations

import httpx
import pytest

from workersai import ConfigurationError, GatewayOptions, WorkersAI, track_usage
from workersai.catalog import get_model
from workersai.local import LocalEmulator
from workersai.usage import estimate_neurons


def test_usage_is_summed_per_model_with_neurons(client: WorkersAI) -> None:
    with track_usage() as usage:
        first = client.chat("hello", max_tokens=5)
        second = client.chat("hello again", max_tokens=5, model="@cf/meta/llama-3.2-1b-instruct")
        client.embed(["a text to embed"] * 3, model="@cf/baai/bge-base-en-v1.5")
    assert first.usage and second.usage
    llama = usage.by_model["@cf/meta/llama-3.1-8b-instruct"]
    assert (llama.requests, llama.prompt_tokens, llama.completion_tokens) == (
        1,
        first.usage.prompt_tokens,
        first.usage.completion_tokens,
    )
    info = get_model("@cf/meta/llama-3.1-8b-instruct")
    assert info is not None
    expected = (
        first.usage.prompt_tokens * info.neurons_per_m_input
        + first.usage.completion_tokens * info.neurons_per_m_output
    ) / 1e6
    assert llama.neurons == pytest.approx(expected)
    embed = usage.by_model["@cf/baai/bge-base-en-v1.5"]
    assert embed.estimated_tokens and embed.prompt_tokens > 0
    assert usage.total_neurons == pytest.approx(sum(u.neurons for u in usage.by_model.values()))
    assert usage.estimated_cost_usd == pytest.approx(usage.total_neurons * 0.011 / 1000)


async def test_usage_nests_and_covers_streams_and_async(client: WorkersAI) -> None:
    with track_usage() as outer:
        with track_usage() as inner:
            async for _ in client.astream_chat("hi", max_tokens=4):
                pass
        await client.achat("hi", max_tokens=4)
    assert inner.by_model["@cf/meta/llama-3.1-8b-instruct"].requests == 1
    assert outer.by_model["@cf/meta/llama-3.1-8b-instruct"].requests == 2
    assert outer.by_model["@cf/meta/llama-3.1-8b-instruct"].completion_tokens == 8


def test_unknown_models_cost_nothing_known() -> None:
    assert estimate_neurons("@cf/someone/unknown", 1000, 1000) == 0.0


def test_gateway_routes_and_caches(emulator: LocalEmulator) -> None:
    statuses: list[tuple[str, str | None]] = []

    def hook(response: httpx.Response) -> None:
        statuses.append((response.request.url.path, response.headers.get("cf-aig-cache-status")))

    http = httpx.Client(event_hooks={"response": [hook]})
    with emulator.client(gateway_id="my-gateway", http_client=http) as client:
        cached = GatewayOptions(cache_ttl=60, metadata={"user": "u1"})
        a = client.embed(["cache me"], gateway=cached)
        b = client.embed(["cache me"], gateway=cached)
        c = client.embed(["cache me"], gateway=GatewayOptions(cache_ttl=60, skip_cache=True))
    assert a == b == c
    assert [s for _, s in statuses] == ["MISS", "HIT", "BYPASS"]
    assert all(p.startswith(f"/v1/{emulator.account_id}/my-gateway/workers-ai/@cf/") for p, _ in statuses)


def test_gateway_token_is_checked(tmp_path: object) -> None:
    with LocalEmulator(gateway_token="gw-secret") as emu:
        with emu.client(gateway_id="g", gateway_token="gw-secret") as ok:
            assert ok.embed(["x"])
        with (
            emu.client(gateway_id="g", gateway_token="wrong", max_retries=0) as bad,
            pytest.raises(Exception) as info,
        ):
            bad.embed(["x"])
        assert getattr(info.value, "status", None) == 401


def test_gateway_metadata_limit() -> None:
    with pytest.raises(ConfigurationError, match="at most 5"):
        GatewayOptions(metadata={str(i): i for i in range(6)}).headers()


def test_models_search(client: WorkersAI) -> None:
    embeddings = client.search_models(task="Text Embeddings")
    names = {m["name"] for m in embeddings}
    assert {"@cf/baai/bge-small-en-v1.5", "@cf/baai/bge-base-en-v1.5", "@cf/baai/bge-large-en-v1.5"} <= names
    assert all(m["task"]["name"] == "Text Embeddings" for m in embeddings)
    assert client.search_models(search="llama-3.3")[0]["name"] == "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
    assert len(client.search_models(per_page=2, page=1)) == 2
