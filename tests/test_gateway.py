"""AI Gateway the way Cloudflare documents it in 2026, over real HTTP against the emulator: the
``cf-aig-gateway-id`` header on the standard API path (the older gateway URL still works:
tests/test_usage_gateway_catalog.py), per-call ``cf-aig-*`` headers from the core and both adapters, the
answer's log id and cache status read back, the log entry (with its metadata) read from the logs API."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from langchain_core.messages import HumanMessage
from llama_index.core.base.llms.types import ChatMessage

from langchain_workersai import ChatWorkersAI
from llamaindex_workersai import WorkersAI as LlamaWorkersAI
from workersai import ConfigurationError, GatewayOptions, ModelNotFound, WorkersAI
from workersai.local import LocalEmulator

from .conftest import RequestLog

MODEL = "@cf/meta/llama-3.1-8b-instruct-fast"


@pytest.fixture
def gw_client(emulator: LocalEmulator, request_log: RequestLog) -> Iterator[WorkersAI]:
    http = httpx.Client(timeout=60, event_hooks={"request": [request_log]})
    with emulator.client(gateway_id="my-gw", http_client=http, max_retries=0) as client:
        yield client
    http.close()


def _log(emulator: LocalEmulator, gateway: str, log_id: str) -> httpx.Response:
    return httpx.get(
        f"{emulator.base_url}/accounts/{emulator.account_id}/ai-gateway/gateways/{gateway}/logs/{log_id}",
        headers={"Authorization": f"Bearer {emulator.token}"},
        timeout=60,
    )


def test_the_gateway_is_named_in_a_header_on_the_standard_path(
    gw_client: WorkersAI, request_log: RequestLog, emulator: LocalEmulator
) -> None:
    assert gw_client.gateway_route == "header"
    result = gw_client.chat("Say hi", model=MODEL, max_tokens=8)
    sent = request_log.requests[-1]
    assert sent.url.path == f"/client/v4/accounts/{emulator.account_id}/ai/run/{MODEL}"
    assert sent.headers["cf-aig-gateway-id"] == "my-gw"
    assert result.gateway is not None and result.gateway.cache_status == "BYPASS"
    assert result.gateway.log_id is not None and len(result.gateway.log_id) == 26
    gw_client.embed(["also through the gateway"])
    assert request_log.requests[-1].headers["cf-aig-gateway-id"] == "my-gw"
    with emulator.client() as plain:  # no gateway: no header, no gateway info
        assert plain.chat("Say hi", model=MODEL, max_tokens=8).gateway is None


def test_cache_ttl_cache_key_skip_and_the_log_with_its_metadata(
    gw_client: WorkersAI, emulator: LocalEmulator
) -> None:
    cached = GatewayOptions(cache_ttl=60, metadata={"user": "u1", "n": 3})
    first = gw_client.chat("What is a cache?", model=MODEL, max_tokens=8, gateway=cached)
    second = gw_client.chat("What is a cache?", model=MODEL, max_tokens=8, gateway=cached)
    assert first.gateway and second.gateway
    assert (first.gateway.cache_status, second.gateway.cache_status) == ("MISS", "HIT")
    assert second.text == first.text and second.gateway.log_id != first.gateway.log_id
    skipped = gw_client.chat(
        "What is a cache?", model=MODEL, max_tokens=8, gateway=GatewayOptions(cache_ttl=60, skip_cache=True)
    )
    assert skipped.gateway and skipped.gateway.cache_status == "BYPASS"
    # A custom cache key: another prompt under the same key is answered from the cache.
    keyed = GatewayOptions(cache_ttl=60, cache_key="greeting")
    a = gw_client.chat("Say hello", model=MODEL, max_tokens=8, gateway=keyed)
    b = gw_client.chat("Say something else entirely", model=MODEL, max_tokens=8, gateway=keyed)
    assert b.gateway and b.gateway.cache_status == "HIT" and b.text == a.text
    log = _log(emulator, "my-gw", first.gateway.log_id or "")
    assert log.status_code == 200
    entry = log.json()["result"]
    assert entry["id"] == first.gateway.log_id and entry["cached"] is False and entry["model"] == MODEL
    assert json.loads(entry["metadata"]) == {"user": "u1", "n": 3}
    assert _log(emulator, "my-gw", second.gateway.log_id or "").json()["result"]["cached"] is True
    assert _log(emulator, "other-gw", first.gateway.log_id or "").status_code == 404
    unlogged = gw_client.chat("x", model=MODEL, max_tokens=4, gateway=GatewayOptions(collect_log=False))
    assert unlogged.gateway and _log(emulator, "my-gw", unlogged.gateway.log_id or "").status_code == 404


def test_streams_carry_the_log_id_on_their_last_chunk(gw_client: WorkersAI) -> None:
    chunks = list(gw_client.stream_chat("Count to three", model=MODEL, max_tokens=8))
    assert chunks[-1].gateway is not None and chunks[-1].gateway.log_id
    assert all(c.gateway is None for c in chunks[:-1])


def test_every_option_is_a_header(gw_client: WorkersAI, request_log: RequestLog) -> None:
    options = GatewayOptions(
        cache_ttl=0,
        skip_cache=True,
        cache_key="k",
        collect_log=True,
        metadata={"a": "b"},
        request_timeout_ms=5000,
        max_attempts=3,
        session_id="conversation-1",
    )
    gw_client.chat("hi", model=MODEL, max_tokens=4, gateway=options)
    sent = request_log.requests[-1].headers
    assert {k: sent[k] for k in options.headers()} == {
        "cf-aig-cache-ttl": "0",
        "cf-aig-skip-cache": "true",
        "cf-aig-cache-key": "k",
        "cf-aig-collect-log": "true",
        "cf-aig-metadata": '{"a": "b"}',
        "cf-aig-request-timeout": "5000",
        "cf-aig-max-attempts": "3",
        "x-session-affinity": "conversation-1",
    }


@pytest.mark.parametrize(
    "options",
    [
        GatewayOptions(max_attempts=6),  # "Retry attempts (max 5)"
        GatewayOptions(cache_ttl=-1),
        GatewayOptions(cache_key="a\r\nX-Injected: 1"),
        GatewayOptions(session_id="s\n"),
    ],
)
def test_bad_options_fail_before_any_request(
    gw_client: WorkersAI, request_log: RequestLog, options: GatewayOptions
) -> None:
    with pytest.raises(ConfigurationError):
        gw_client.chat("hi", model=MODEL, gateway=options)
    assert request_log.requests == []


def test_openai_compatible_path_through_the_gateway_header(emulator: LocalEmulator) -> None:
    answer = httpx.post(
        f"{emulator.base_url}/accounts/{emulator.account_id}/ai/v1/chat/completions",
        json={"model": MODEL, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4},
        headers={
            "Authorization": f"Bearer {emulator.token}",
            "cf-aig-gateway-id": "default",
            "cf-aig-metadata": json.dumps({str(i): i for i in range(7)}),
        },
        timeout=60,
    )
    assert answer.status_code == 200 and answer.headers["cf-aig-cache-status"] == "BYPASS"
    entry = _log(emulator, "default", answer.headers["cf-aig-log-id"]).json()["result"]
    assert entry["model"] == MODEL and entry["path"].endswith("/ai/v1/chat/completions")
    assert json.loads(entry["metadata"]) == {str(i): i for i in range(5)}  # the first five are kept


def _conn(emulator: LocalEmulator) -> dict[str, Any]:
    return {
        "account_id": emulator.account_id,
        "api_key": emulator.token,
        "base_url": emulator.base_url,
        "gateway_id": "adapters",
    }


def test_langchain_gateway_options_session_id_and_response_metadata(
    emulator: LocalEmulator, request_log: RequestLog
) -> None:
    http = httpx.Client(timeout=60, event_hooks={"request": [request_log]})
    core = WorkersAI(
        account_id=emulator.account_id,
        api_token=emulator.token,
        base_url=emulator.base_url,
        gateway_id="adapters",
        http_client=http,
    )
    llm = ChatWorkersAI(
        model=MODEL, client=core, gateway=GatewayOptions(cache_ttl=60), session_id="lc-1", max_tokens=8
    )
    first = llm.invoke([HumanMessage("LangChain through the gateway")])
    again = llm.invoke([HumanMessage("LangChain through the gateway")])
    assert first.response_metadata["gateway_cache_status"] == "MISS"
    assert again.response_metadata["gateway_cache_status"] == "HIT"
    assert len(first.response_metadata["gateway_log_id"]) == 26
    sent = request_log.requests[-1].headers
    assert (sent["cf-aig-gateway-id"], sent["x-session-affinity"], sent["cf-aig-cache-ttl"]) == (
        "adapters",
        "lc-1",
        "60",
    )
    per_call = llm.invoke([HumanMessage("per call")], gateway=GatewayOptions(skip_cache=True))
    assert per_call.response_metadata["gateway_cache_status"] == "BYPASS"
    assert request_log.requests[-1].headers["x-session-affinity"] == "lc-1"  # kept on the call's options
    streamed = list(llm.stream([HumanMessage("stream through the gateway")]))
    assert streamed[-1].response_metadata["gateway_log_id"]
    http.close()


def test_llamaindex_gateway_options_and_raw(emulator: LocalEmulator) -> None:
    llm = LlamaWorkersAI(model=MODEL, gateway=GatewayOptions(cache_ttl=60), max_tokens=8, **_conn(emulator))
    first = llm.chat([ChatMessage(role="user", content="LlamaIndex through the gateway")])
    again = llm.chat([ChatMessage(role="user", content="LlamaIndex through the gateway")])
    assert (first.raw["gateway_cache_status"], again.raw["gateway_cache_status"]) == ("MISS", "HIT")
    assert first.raw["gateway_log_id"] != again.raw["gateway_log_id"]
    skipped = llm.chat(
        [ChatMessage(role="user", content="LlamaIndex through the gateway")],
        gateway=GatewayOptions(cache_ttl=60, skip_cache=True),
    )
    assert skipped.raw["gateway_cache_status"] == "BYPASS"
    last = list(llm.stream_chat([ChatMessage(role="user", content="stream")]))[-1]
    assert last.raw["gateway"]["log_id"]


# -- third-party models through Unified Billing (openai/..., anthropic/...) ------------------------------

THIRD_PARTY = "openai/gpt-4.1"


def test_a_third_party_model_chats_on_the_openai_endpoint_through_the_default_gateway(
    logged_client: WorkersAI, request_log: RequestLog, emulator: LocalEmulator
) -> None:
    result = logged_client.chat("Say hi", model=THIRD_PARTY, max_tokens=8)
    sent = request_log.requests[-1]
    assert sent.url.path == f"/client/v4/accounts/{emulator.account_id}/ai/v1/chat/completions"
    assert json.loads(sent.content)["model"] == THIRD_PARTY
    assert result.text and result.model == THIRD_PARTY
    assert result.gateway is not None and result.gateway.log_id
    entry = _log(emulator, "default", result.gateway.log_id).json()["result"]
    assert entry["model"] == THIRD_PARTY
    chunks = list(logged_client.stream_chat("Say hi", model="anthropic/claude-sonnet-4", max_tokens=8))
    assert "".join(c.text for c in chunks) and chunks[-1].gateway is not None
    with pytest.raises(ModelNotFound, match="chat only"):  # no embedding path is documented for them
        logged_client.embed(["x"], model="openai/text-embedding-3-small")


def test_the_openai_sdk_reaches_a_third_party_model(emulator: LocalEmulator) -> None:
    openai = pytest.importorskip("openai")
    sdk = openai.OpenAI(
        api_key=emulator.token,
        base_url=f"{emulator.base_url}/accounts/{emulator.account_id}/ai/v1",
        default_headers={"cf-aig-gateway-id": "sdk-gw"},
    )
    raw = sdk.chat.completions.with_raw_response.create(
        model="google/gemini-3-flash", messages=[{"role": "user", "content": "hi"}], max_tokens=8
    )
    completion = raw.parse()
    assert completion.choices[0].message.content and completion.model == "google/gemini-3-flash"
    assert _log(emulator, "sdk-gw", raw.headers["cf-aig-log-id"]).status_code == 200


def test_embeddings_of_both_adapters_send_the_gateway_options(
    emulator: LocalEmulator, request_log: RequestLog
) -> None:
    from langchain_workersai import WorkersAIEmbeddings
    from llamaindex_workersai import WorkersAIEmbedding

    http = httpx.Client(timeout=60, event_hooks={"request": [request_log]})
    core = WorkersAI(
        account_id=emulator.account_id,
        api_token=emulator.token,
        base_url=emulator.base_url,
        gateway_id="embed-gw",
        http_client=http,
    )
    options = GatewayOptions(cache_ttl=30, metadata={"app": "search"})
    WorkersAIEmbeddings(client=core, gateway=options).embed_documents(["one", "two"])
    WorkersAIEmbedding(client=core, gateway=options).get_text_embedding("three")
    core.embed_raw(["four"], gateway=options)  # the bulk adds' raw path
    assert len(request_log.requests) == 3
    for sent in request_log.requests:
        assert sent.headers["cf-aig-gateway-id"] == "embed-gw"
        assert (sent.headers["cf-aig-cache-ttl"], sent.headers["cf-aig-metadata"]) == (
            "30",
            '{"app": "search"}',
        )
    http.close()
